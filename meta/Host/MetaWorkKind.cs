namespace Sds.Meta.Host;

/// <summary>Kinds of work the meta host loop takes from its inbox.</summary>
internal enum MetaWorkKind : byte
{
    /// <summary>Timer: advance Raft's logical clock.</summary>
    Tick = 0,

    /// <summary>A Raft message from a peer.</summary>
    Step = 1,

    /// <summary>A command to propose.</summary>
    Propose = 2,

    /// <summary>A linearizable read (ReadIndex, Raft thesis §6.4).</summary>
    Read = 3,

    /// <summary>A local, possibly stale read (status pages, watch registration).</summary>
    Query = 4,

    /// <summary>A peer could not be reached.</summary>
    Unreachable = 5,

    /// <summary>The outcome of sending a snapshot to a peer.</summary>
    SnapshotReport = 6,

    /// <summary>A membership change to propose.</summary>
    ConfChange = 7,
}
