namespace Sds.Storage.Replication;

/// <summary>Work handed to the node's event loop from other threads.</summary>
internal enum LoopItemKind : byte
{
    /// <summary>A Raft message from a peer.</summary>
    RaftMessage = 1,

    /// <summary>The transport dropped a message to a member.</summary>
    Unreachable = 2,

    /// <summary>The transport reports a snapshot message's fate.</summary>
    SnapshotStatus = 3,

    /// <summary>A client operation.</summary>
    Operation = 4,

    /// <summary>A snapshot's chunk data was fetched (or failed); step the held snapshot message.</summary>
    SnapshotFetched = 5,

    /// <summary>The chunk store flushed up to per-group applied indexes; persist them and compact.</summary>
    Flushed = 6,

    /// <summary>Placement changed; reconcile replicas and membership.</summary>
    PlacementChanged = 7,

    /// <summary>Flush, persist applied indexes and compact now (tests).</summary>
    CompactNow = 8,

    /// <summary>Run a delegate on the loop thread, serialized with applies (block repair).</summary>
    Invoke = 9,
}
