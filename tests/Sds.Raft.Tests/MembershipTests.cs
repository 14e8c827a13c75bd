using Sds.Raft.Tests.Support;

namespace Sds.Raft.Tests;

/// <summary>
/// Single-server membership changes (Raft thesis §4.1, §4.2): a new member joins as a learner, catches up,
/// and only then is promoted; one change at a time; a removed leader steps down.
/// </summary>
public sealed class MembershipTests
{
    private static RaftConfig Config(ulong id, MemoryRaftLogStorage storage) => new()
    {
        Id = id, Storage = storage, LearnerCatchUpMaxLagEntries = 2, Random = new SplitMix64Random(id),
    };

    private static TestCluster ClusterWithSpareMember()
    {
        TestCluster cluster = new(3, Config);

        // Member 4 exists but is not in the configuration yet (its bootstrap lists the original voters).
        cluster.Add(4, new MemoryRaftLogStorage(new ConfState([1, 2, 3], [])));
        return cluster;
    }

    [Fact]
    public void LearnerCatchesUpAndIsPromotedToVoter()
    {
        TestCluster cluster = ClusterWithSpareMember();
        TestMember leader = cluster.Elect(1);
        for (int i = 0; i < 5; i++)
        {
            cluster.Propose(1, $"v{i}");
        }

        Assert.True(leader.Node.ProposeConfChange(new ConfChange(ConfChangeType.AddLearner, 4)).IsAccepted);
        cluster.Stabilize();
        cluster.TickAll(2);
        Assert.Contains(4UL, leader.Node.ConfState.Learners);
        Assert.Equal(leader.Node.LastIndex, cluster[4].Node.LastIndex);
        Assert.True(leader.Node.TryGetProgress(4, out FollowerProgress learner));
        Assert.True(learner.IsLearner);
        Assert.Equal(leader.Node.LastIndex, learner.Match);
        Assert.False(cluster[2].Node.TryGetProgress(4, out _));

        // A learner neither votes nor campaigns.
        for (int i = 0; i < 40; i++)
        {
            cluster[4].Node.Tick();
        }

        Assert.Equal(RaftRole.Follower, cluster[4].Node.Role);

        Assert.True(leader.Node.ProposeConfChange(new ConfChange(ConfChangeType.PromoteLearner, 4)).IsAccepted);
        cluster.Stabilize();
        cluster.TickAll(1);
        Assert.Contains(4UL, leader.Node.ConfState.Voters);
        Assert.Contains(4UL, cluster[4].Node.ConfState.Voters);

        // Four voters: commitment now needs three of them.
        cluster.Isolate(2);
        cluster.Isolate(3);
        ulong before = leader.Node.Committed;
        cluster.Propose(1, "needs-three");
        Assert.Equal(before, leader.Node.Committed);
    }

    [Fact]
    public void LearnerThatHasNotCaughtUpIsNotPromoted()
    {
        TestCluster cluster = ClusterWithSpareMember();
        TestMember leader = cluster.Elect(1);
        leader.Node.ProposeConfChange(new ConfChange(ConfChangeType.AddLearner, 4));
        cluster.Isolate(4);
        cluster.Stabilize();
        for (int i = 0; i < 5; i++)
        {
            cluster.Propose(1, $"v{i}");
        }

        ProposeResult result = leader.Node.ProposeConfChange(new ConfChange(ConfChangeType.PromoteLearner, 4));
        Assert.Equal(ProposeStatus.RejectedLearnerNotCaughtUp, result.Status);
    }

    [Fact]
    public void OnlyOneMembershipChangeAtATime()
    {
        TestCluster cluster = ClusterWithSpareMember();
        TestMember leader = cluster.Elect(1);
        Assert.True(leader.Node.ProposeConfChange(new ConfChange(ConfChangeType.AddLearner, 4)).IsAccepted);
        Assert.Equal(ProposeStatus.DroppedConfChangePending, leader.Node.ProposeConfChange(new ConfChange(ConfChangeType.RemoveNode, 3)).Status);
        cluster.Stabilize();
        Assert.True(leader.Node.ProposeConfChange(new ConfChange(ConfChangeType.RemoveNode, 3)).IsAccepted);
    }

    [Fact]
    public void InvalidChangesAreRejectedWithASentinel()
    {
        TestCluster cluster = ClusterWithSpareMember();
        TestMember leader = cluster.Elect(1);
        Assert.Equal(ProposeStatus.RejectedInvalidConfChange, leader.Node.ProposeConfChange(new ConfChange(ConfChangeType.PromoteLearner, 2)).Status);
        Assert.Equal(ProposeStatus.RejectedInvalidConfChange, leader.Node.ProposeConfChange(new ConfChange(ConfChangeType.AddLearner, 2)).Status);
        Assert.Equal(ProposeStatus.RejectedInvalidConfChange, leader.Node.ProposeConfChange(new ConfChange(ConfChangeType.RemoveNode, 9)).Status);
    }

    [Fact]
    public void RemovedLeaderStepsDownAndTheRestElectANewOne()
    {
        TestCluster cluster = ClusterWithSpareMember();
        TestMember leader = cluster.Elect(1);
        Assert.True(leader.Node.ProposeConfChange(new ConfChange(ConfChangeType.RemoveNode, 1)).IsAccepted);
        cluster.Stabilize();
        Assert.NotEqual(RaftRole.Leader, leader.Node.Role);
        Assert.DoesNotContain(1UL, cluster[2].Node.ConfState.Voters);
        cluster.TickAll(40);
        Assert.Single(new[] { cluster[2], cluster[3] }, m => m.Node.Role == RaftRole.Leader);
        Assert.NotEqual(RaftRole.Leader, leader.Node.Role);
    }
}
