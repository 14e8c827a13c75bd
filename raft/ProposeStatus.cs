namespace Sds.Raft;

/// <summary>Outcome of a proposal. Only <see cref="Accepted"/> appended anything.</summary>
public enum ProposeStatus : byte
{
    /// <summary>Appended to the leader's log at the returned index and term; commit is not yet known.</summary>
    Accepted = 0,

    /// <summary>This node is not the leader; <c>LeaderHint</c> names the one it follows.</summary>
    NotLeader = 1,

    /// <summary>No leader is known (election in progress).</summary>
    DroppedNoLeader = 2,

    /// <summary>A leadership transfer is in progress (Raft thesis §3.10).</summary>
    DroppedTransferInProgress = 3,

    /// <summary>A membership change is still unapplied, or this term's first entry is not yet applied.</summary>
    DroppedConfChangePending = 4,

    /// <summary>The membership change is not valid in the current configuration.</summary>
    RejectedInvalidConfChange = 5,

    /// <summary>The learner to promote is not caught up (Raft thesis §4.2.1).</summary>
    RejectedLearnerNotCaughtUp = 6,

    /// <summary>Too many uncommitted bytes; the caller should back off.</summary>
    DroppedUncommittedLimit = 7,
}
