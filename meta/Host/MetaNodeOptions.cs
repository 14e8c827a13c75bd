namespace Sds.Meta.Host;

/// <summary>Configuration of one member of the meta Raft group.</summary>
internal sealed class MetaNodeOptions
{
    /// <summary>This member's Raft id (1-based, unique in the group).</summary>
    public required ulong Id { get; init; }

    /// <summary>Raft ids of every voter, this member included (the bootstrap configuration).</summary>
    public required IReadOnlyList<ulong> Voters { get; init; }

    /// <summary>Directory of the Raft log and snapshot (created if missing).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Clock of the tick timer and failure detector (virtual in simulations).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Period of <c>RawNode.Tick</c>.</summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Election timeout in ticks (randomized by the core in [ElectionTicks, 2·ElectionTicks)).</summary>
    public int ElectionTicks { get; init; } = 10;

    /// <summary>Heartbeat interval in ticks.</summary>
    public int HeartbeatTicks { get; init; } = 1;

    /// <summary>Applied entries between snapshots; each snapshot compacts the log.</summary>
    public ulong SnapshotThresholdEntries { get; init; } = 10_000;

    /// <summary>Entries kept behind a snapshot so a briefly lagging follower catches up from the log, not a snapshot.</summary>
    public ulong CompactionLagEntries { get; init; } = 1_000;

    /// <summary>Replica count for volumes and PGs when unspecified (3; 1 for a one-node cluster).</summary>
    public uint DefaultReplicas { get; init; } = 3;

    /// <summary>Placement groups created at cluster initialization.</summary>
    public uint PgCount { get; init; } = 64;

    /// <summary>A storage node silent this long is marked DOWN.</summary>
    public TimeSpan NodeDownTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A node DOWN-silent this long is marked OUT and its PG slots move elsewhere.</summary>
    public TimeSpan NodeOutTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Proposals queued and not yet applied, at most (back-pressure on clients).</summary>
    public int PendingProposalsMax { get; init; } = 10_000;
}
