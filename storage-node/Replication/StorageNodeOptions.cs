namespace Sds.Storage.Replication;

/// <summary>Timers and bounds of a storage node's event loop. Each bound is named with its unit.</summary>
public sealed class StorageNodeOptions
{
    /// <summary>This node's Raft member id (also its node id, in decimal, on the transport).</summary>
    public required ulong NodeId { get; init; }

    /// <summary>
    /// Raft tick period. With <see cref="ElectionTicks"/> = 10 an election starts 10–20 ticks after the leader
    /// goes quiet; the leader lease is ElectionTicks − MaxClockDriftTicks ticks (raft/README.md).
    /// </summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Election timeout in ticks.</summary>
    public int ElectionTicks { get; init; } = 10;

    /// <summary>Heartbeat interval in ticks.</summary>
    public int HeartbeatTicks { get; init; } = 1;

    /// <summary>Work items (Raft messages, client operations) queued for the loop before new ones are refused.</summary>
    public int InboxCapacityItems { get; init; } = 65536;

    /// <summary>How often applied chunk data is flushed, the applied index persisted and the log compacted.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Entries kept below the compaction point so briefly lagging followers catch up from the log, not a snapshot.</summary>
    public ulong LogRetainEntries { get; init; } = 4096;

    /// <summary>Snapshot streaming rate limit, bytes per second (recovery must not starve client I/O).</summary>
    public long SnapshotBytesPerSecond { get; init; } = 256L * 1024 * 1024;

    /// <summary>Clock for ticks and flushes (virtual time in simulations).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
