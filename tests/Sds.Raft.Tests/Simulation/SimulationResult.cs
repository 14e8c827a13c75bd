namespace Sds.Raft.Tests.Simulation;

/// <summary>What one schedule did, and the violation it found, if any.</summary>
internal sealed record SimulationResult(ulong Seed, SimulationViolation? Violation, long Steps, int Elections, int AcknowledgedWrites, int CompletedReads, int Crashes, ulong Committed, int MembershipChanges, long LeaseReads)
{
    public bool Passed => Violation is null;

    public override string ToString() =>
        Passed ? $"seed={Seed} ok steps={Steps} elections={Elections} acked={AcknowledgedWrites} reads={CompletedReads} crashes={Crashes} committed={Committed} confChanges={MembershipChanges} leaseReads={LeaseReads}"
               : $"seed={Seed} VIOLATION {Violation!.Message} at step {Steps}; reproduce with seed={Seed} (SDS_RAFT_SEED={Seed})";
}
