namespace Sds.Raft.Tests.Simulation;

/// <summary>Knobs of one simulated schedule. Everything random is derived from <see cref="Seed"/>.</summary>
internal sealed class SimulationOptions
{
    public required ulong Seed { get; init; }

    public int MemberCount { get; init; } = 3;

    /// <summary>Random actions before the final heal-and-converge phase.</summary>
    public int Steps { get; init; } = 3000;

    public int Keys { get; init; } = 3;

    public double DropProbability { get; init; } = 0.05;

    public double DuplicateProbability { get; init; } = 0.03;

    /// <summary>Applied entries beyond the snapshot before the host snapshots and compacts; 0 draws it from the seed.</summary>
    /// <summary>Random single-server membership changes (learner add, promotion, removal).</summary>
    public bool MembershipChanges { get; init; } = true;

    /// <summary>Crash actions per thousand steps (each crashes a random member if it is up).</summary>
    public int CrashPerMille { get; init; } = 4;

    /// <summary>Fixed Append size limit; 0 draws it from the seed. 40 bytes forces one entry per Append.</summary>
    public ulong MaxSizePerMessageBytes { get; init; }

    public int CompactThresholdEntries { get; init; }

    /// <summary>
    /// Hosts run <see cref="ReadySendOrder.LeaderAppendsBeforeSync"/> (Raft thesis §10.2.1): a leader's Appends and
    /// heartbeats leave before its sync.
    /// </summary>
    public bool LeaderAppendsBeforeSync { get; init; }

    /// <summary>
    /// Per thousand syncs, the member crashes inside the sync, before anything is durable: what it sent before
    /// the sync is out, nothing after it happens (no later sends, no apply). Not while converging.
    /// </summary>
    public int CrashInSyncPerMille { get; init; }

    /// <summary>TEST ONLY broken variant: Figure 8 commit of earlier-term entries by counting replicas.</summary>
    public bool BrokenCommitPreviousTerm { get; init; }

    /// <summary>TEST ONLY broken variant: votes granted without the up-to-date log check.</summary>
    public bool BrokenSkipVoteLogCheck { get; init; }

    /// <summary>TEST ONLY broken variant: leases outlive the followers' vote-refusal window by this many ticks; forces lease reads.</summary>
    public int BrokenLeaseExtensionTicks { get; init; }

    /// <summary>TEST ONLY broken variant: reads served before the leader committed an entry of its term.</summary>
    public bool BrokenReadBeforeTermCommit { get; init; }

    /// <summary>TEST ONLY broken variant: the host acknowledges without syncing (fsync lies).</summary>
    public bool BrokenNoSync { get; init; }
}
