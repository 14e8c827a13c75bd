namespace Sds.Raft;

/// <summary>Outcome of <c>RawNode.TransferLeadership</c>.</summary>
public enum TransferStatus : byte
{
    /// <summary>Transfer started (or already under way to the same target).</summary>
    Started = 0,

    /// <summary>Not the leader.</summary>
    NotLeader = 1,

    /// <summary>The target is this node, unknown, or a learner.</summary>
    InvalidTarget = 2,
}
