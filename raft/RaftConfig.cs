namespace Sds.Raft;

/// <summary>Parameters of one Raft member. Validated when a <see cref="RawNode"/> is created.</summary>
public sealed class RaftConfig
{
    /// <summary>This member's id (non-zero, unique in the group).</summary>
    public required ulong Id { get; init; }

    /// <summary>The member's log.</summary>
    public required IRaftLogStorage Storage { get; init; }

    /// <summary>
    /// Followers campaign after a random timeout in [ElectionTicks, 2 × ElectionTicks) without a leader
    /// (Raft §5.2); a CheckQuorum leader steps down after ElectionTicks without a quorum.
    /// </summary>
    public int ElectionTicks { get; init; } = 10;

    /// <summary>Leader heartbeat interval. Must be well below <see cref="ElectionTicks"/>.</summary>
    public int HeartbeatTicks { get; init; } = 1;

    /// <summary>
    /// Index the application has already applied (its state survives restarts). 0 when the state machine
    /// is rebuilt from the storage snapshot on every start.
    /// </summary>
    public ulong Applied { get; init; }

    /// <summary>Upper bound on the entry bytes of one Append message (at least one entry is always sent).</summary>
    public ulong MaxSizePerMessageBytes { get; init; } = 1024 * 1024;

    /// <summary>Pipelined Append messages in flight per follower (flow control window).</summary>
    public int MaxInflightMessages { get; init; } = 256;

    /// <summary>Upper bound on the committed entry bytes in one Ready.</summary>
    public ulong MaxCommittedSizePerReadyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Upper bound on bytes proposed but not yet committed; proposals beyond it are dropped.</summary>
    public ulong MaxUncommittedBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>Upper bound on reads waiting for a heartbeat round.</summary>
    public int MaxPendingReads { get; init; } = 4096;

    /// <summary>Leader steps down without a quorum; followers ignore vote requests while they hear a leader (thesis §6.2, §4.2.3).</summary>
    public bool CheckQuorum { get; init; } = true;

    /// <summary>Pre-vote phase before real elections (Raft thesis §9.6).</summary>
    public bool PreVote { get; init; } = true;

    /// <summary>How reads are confirmed.</summary>
    public ReadOnlyOption ReadOnly { get; init; } = ReadOnlyOption.Safe;

    /// <summary>
    /// Lease safety margin: how many ticks any member's clock may run ahead of the leader's over one election
    /// timeout. The lease lasts ElectionTicks − MaxClockDriftTicks from the heartbeat a quorum acknowledged.
    /// </summary>
    public int MaxClockDriftTicks { get; init; } = 2;

    /// <summary>A learner is promotable when its match index is within this many entries of the leader's last index.</summary>
    public ulong LearnerCatchUpMaxLagEntries { get; init; } = 64;

    /// <summary>Seeded randomness for election timeouts; defaults to a generator seeded with <see cref="Id"/>.</summary>
    public IRaftRandom? Random { get; init; }

    /// <summary>
    /// TEST ONLY, deliberately unsafe: commit an entry of an earlier term by counting replicas — the bug of
    /// Raft Figure 8. Exists so the simulator can prove it catches it.
    /// </summary>
    internal bool TestOnlyUnsafeCommitPreviousTerm { get; init; }

    /// <summary>TEST ONLY, deliberately unsafe: grant votes without the §5.4.1 up-to-date check.</summary>
    internal bool TestOnlyUnsafeSkipVoteLogCheck { get; init; }

    /// <summary>TEST ONLY, deliberately unsafe: the leader lease lasts this many ticks longer than is safe.</summary>
    internal int TestOnlyUnsafeLeaseExtensionTicks { get; init; }

    /// <summary>TEST ONLY, deliberately unsafe: serve reads before the leader committed an entry of its term.</summary>
    internal bool TestOnlyUnsafeReadBeforeTermCommit { get; init; }

    internal void Validate()
    {
        Invariant.Assert(Id != 0, "node id 0 is reserved for 'none'");
        Invariant.Assert(HeartbeatTicks > 0 && ElectionTicks > HeartbeatTicks, "need 0 < HeartbeatTicks < ElectionTicks");
        Invariant.Assert(MaxInflightMessages > 0, "MaxInflightMessages must be positive");
        Invariant.Assert(ReadOnly != ReadOnlyOption.LeaseBased || CheckQuorum, "lease reads need CheckQuorum");
        Invariant.Assert(MaxClockDriftTicks >= 0 && MaxClockDriftTicks < ElectionTicks, "clock drift must be below the election timeout");
    }
}
