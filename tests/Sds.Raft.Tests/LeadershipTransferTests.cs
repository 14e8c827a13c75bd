using Sds.Raft.Tests.Support;

namespace Sds.Raft.Tests;

/// <summary>
/// Leadership transfer (Raft thesis §3.10): the leader brings the target up to date, sends TimeoutNow, and
/// refuses proposals meanwhile; a transfer that can't finish within an election timeout is abandoned.
/// </summary>
public sealed class LeadershipTransferTests
{
    [Fact]
    public void TransferToAnUpToDateFollowerMakesItLeader()
    {
        TestCluster cluster = new(3);
        TestMember leader = cluster.Elect(1);
        cluster.Propose(1, "x");
        Assert.Equal(TransferStatus.Started, leader.Node.TransferLeadership(2));
        cluster.Stabilize();
        Assert.Equal(RaftRole.Leader, cluster[2].Node.Role);
        Assert.Equal(RaftRole.Follower, leader.Node.Role);
        Assert.Equal(2UL, leader.Node.Leader);
    }

    [Fact]
    public void TransferToALaggingFollowerWaitsForItToCatchUp()
    {
        TestCluster cluster = new(3);
        TestMember leader = cluster.Elect(1);
        cluster.Isolate(3);
        for (int i = 0; i < 5; i++)
        {
            cluster.Propose(1, $"v{i}");
        }

        cluster.Heal();
        Assert.Equal(TransferStatus.Started, leader.Node.TransferLeadership(3));
        cluster.Stabilize();
        cluster.TickAll(2);
        Assert.Equal(RaftRole.Leader, cluster[3].Node.Role);
        Assert.Equal(leader.Node.LastIndex, cluster[3].Node.LastIndex);
    }

    [Fact]
    public void ProposalsAreDroppedDuringATransferAndResumeAfterItIsAbandoned()
    {
        TestCluster cluster = new(3);
        TestMember leader = cluster.Elect(1);
        cluster.Block(1, 3); // the target never hears TimeoutNow
        leader.Node.TransferLeadership(3);
        Assert.Equal(3UL, leader.Node.LeadTransferee);
        Assert.Equal(ProposeStatus.DroppedTransferInProgress, leader.Node.Propose(new byte[] { 1 }).Status);
        cluster.TickAll(10);
        Assert.Equal(0UL, leader.Node.LeadTransferee);
        Assert.Equal(RaftRole.Leader, leader.Node.Role);
        Assert.True(leader.Node.Propose(new byte[] { 1 }).IsAccepted);
    }

    [Fact]
    public void InvalidTargetsAreRejected()
    {
        TestCluster cluster = new(3);
        TestMember leader = cluster.Elect(1);
        Assert.Equal(TransferStatus.InvalidTarget, leader.Node.TransferLeadership(1));
        Assert.Equal(TransferStatus.InvalidTarget, leader.Node.TransferLeadership(7));
        Assert.Equal(TransferStatus.NotLeader, cluster[2].Node.TransferLeadership(3));
    }
}
