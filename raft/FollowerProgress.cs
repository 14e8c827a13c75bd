namespace Sds.Raft;

/// <summary>
/// A leader's view of one member, for hosts that decide when a learner is caught up (DESIGN.md §5:
/// add learner → catch up → promote) or report replication health.
/// </summary>
/// <param name="Match">Highest index known replicated on the member.</param>
/// <param name="Next">Next index the leader will send.</param>
/// <param name="State">Flow-control state.</param>
/// <param name="RecentActive">Heard from since the last CheckQuorum round.</param>
/// <param name="IsLearner">Non-voting member.</param>
public readonly record struct FollowerProgress(ulong Match, ulong Next, ProgressState State, bool RecentActive, bool IsLearner);
