namespace Sds.Storage.Placement;

/// <summary>
/// One PG's membership as the cluster map states it (DESIGN.md §4): voters, learners being caught up, and the
/// epoch that increases on every change. Member ids are Raft member ids (<c>Node.raft_member_id</c>).
/// </summary>
/// <param name="PgId">Placement group number.</param>
/// <param name="Epoch">Membership epoch; requests carry it to detect stale routes.</param>
/// <param name="Voters">Voting members.</param>
/// <param name="Learners">Members being caught up before promotion.</param>
public sealed record PlacementGroupAssignment(uint PgId, ulong Epoch, ulong[] Voters, ulong[] Learners)
{
    /// <summary>
    /// The voters of the PG's first placement (<c>PlacementGroup.bootstrap_member_node_ids</c>): a replica with no
    /// Raft state bootstraps the group with exactly this configuration when it is one of them; every other
    /// replica starts empty and learns its configuration from the leader. Never changes for a PG.
    /// </summary>
    public ulong[] Bootstrap { get; init; } = [];

    /// <summary>True when <paramref name="member"/> is a voter or a learner.</summary>
    public bool Contains(ulong member) => Array.IndexOf(Voters, member) >= 0 || Array.IndexOf(Learners, member) >= 0;
}
