using Sds.Raft.Tests.Support;

namespace Sds.Raft.Tests;

/// <summary>
/// Linearizable reads (Raft thesis §6.4): ReadIndex waits for a heartbeat round acknowledged by a majority;
/// lease reads (thesis §6.4.1) answer at once while the lease holds and fall back to ReadIndex when it
/// does not (partition, transfer).
/// </summary>
public sealed class ReadIndexTests
{
    private static RaftConfig Lease(ulong id, MemoryRaftLogStorage storage) => new()
    {
        Id = id, Storage = storage, ReadOnly = ReadOnlyOption.LeaseBased, MaxClockDriftTicks = 2, Random = new SplitMix64Random(id),
    };

    [Fact]
    public void ReadIndexIsReleasedAfterAMajorityAcknowledgesAHeartbeatRound()
    {
        TestCluster cluster = new(3);
        TestMember leader = cluster.Elect(1);
        cluster.Propose(1, "x");
        Assert.Equal(ReadIndexStatus.Accepted, leader.Node.ReadIndex(42));
        Assert.Empty(leader.Raft.ReadStates); // needs the round trip
        cluster.Stabilize();
        ReadState state = Assert.Single(leader.ReadStates);
        Assert.Equal(new ReadState(leader.Node.Committed, 42), state);
    }

    [Fact]
    public void FollowerForwardsReadIndexAndServesItOnceApplied()
    {
        // Thesis §6.4: a follower asks the leader for the read index, then serves the read locally once its
        // state machine has applied that index.
        TestCluster cluster = new(3);
        TestMember leader = cluster.Elect(1);
        cluster.Propose(1, "x");
        TestMember follower = cluster[2];
        Assert.Equal(ReadIndexStatus.Forwarded, follower.Node.ReadIndex(11));
        cluster.Stabilize();
        ReadState state = Assert.Single(follower.ReadStates);
        Assert.Equal(new ReadState(leader.Node.Committed, 11), state);
        Assert.True(follower.Node.Applied >= state.Index);
        Assert.Empty(leader.ReadStates);
    }

    [Fact]
    public void ReadIndexIsNotReleasedWithoutAMajority()
    {
        TestCluster cluster = new(3);
        TestMember leader = cluster.Elect(1);
        cluster.Isolate(1);
        leader.Node.ReadIndex(7);
        cluster.Stabilize();
        Assert.Empty(leader.ReadStates);
    }

    [Fact]
    public void ReadIndexWaitsUntilTheLeaderCommittedAnEntryOfItsTerm()
    {
        // Thesis §6.4 step 1: a fresh leader doesn't know the commit index until its no-op commits.
        MemoryRaftLogStorage storage = new(new ConfState([1, 2, 3], []));
        RawNode node = new(new RaftConfig { Id = 1, Storage = storage, PreVote = false });
        node.Campaign();
        node.Step(new Message { Type = MessageType.VoteResponse, From = 2, To = 1, Term = 1 });
        Assert.Equal(RaftRole.Leader, node.Role);
        Assert.Equal(ReadIndexStatus.NotReady, node.ReadIndex(1));
        Assert.Equal(ReadIndexStatus.NotLeader, new RawNode(new RaftConfig { Id = 2, Storage = new MemoryRaftLogStorage(new ConfState([1, 2, 3], [])) }).ReadIndex(1));
    }

    [Fact]
    public void LeaseReadIsAnsweredWithoutARoundTripWhileTheLeaseHolds()
    {
        TestCluster cluster = new(3, Lease);
        TestMember leader = cluster.Elect(1);
        cluster.TickAll(1); // one heartbeat round acknowledged by everyone
        Assert.True(leader.Node.LeaseValid);
        Assert.Equal(ReadIndexStatus.Accepted, leader.Node.ReadIndex(5));
        Assert.Equal(new ReadState(leader.Node.Committed, 5), Assert.Single(leader.Raft.ReadStates));
    }

    [Fact]
    public void LeaseExpiresBeforeFollowersWouldVoteForSomeoneElse()
    {
        // The lease lasts ElectionTicks − MaxClockDriftTicks from the last acknowledged heartbeat; a follower
        // ignores votes for ElectionTicks after receiving it. Isolate the leader and count.
        TestCluster cluster = new(3, Lease);
        TestMember leader = cluster.Elect(1);
        cluster.TickAll(1);
        cluster.Isolate(1);
        int validTicks = 0;
        while (leader.Node.LeaseValid)
        {
            leader.Node.Tick();
            validTicks++;
        }

        Assert.InRange(validTicks, 1, 10 - 2);
        leader.Drain();
        Assert.Equal(ReadIndexStatus.Accepted, leader.Node.ReadIndex(9));
        Assert.Empty(leader.Raft.ReadStates); // fell back to a heartbeat round, which cannot complete
        cluster.Stabilize();
        Assert.Empty(leader.ReadStates);
    }

    [Fact]
    public void TransferEndsTheLease()
    {
        TestCluster cluster = new(3, Lease);
        TestMember leader = cluster.Elect(1);
        cluster.TickAll(1);
        Assert.True(leader.Node.LeaseValid);
        cluster.Block(1, 2);
        leader.Node.TransferLeadership(2);
        Assert.False(leader.Node.LeaseValid);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(10, true)]
    public void OldLeadersLeaseNeverOverlapsTheNextLeader(int unsafeExtensionTicks, bool expectOverlap)
    {
        // Goal: the lease argument of thesis §6.4.1, checked tick by tick: after the leader is cut off, no tick
        // has both a new leader and a still-valid old lease. Method: isolate the leader, tick everyone, and at
        // each tick look at both. The deliberately over-long lease (test-only flag) does overlap, which shows
        // the check has teeth.
        TestCluster cluster = new(3, (id, s) => new RaftConfig
        {
            Id = id, Storage = s, ReadOnly = ReadOnlyOption.LeaseBased, MaxClockDriftTicks = 0,
            TestOnlyUnsafeLeaseExtensionTicks = unsafeExtensionTicks, Random = new SplitMix64Random(id),
        });
        TestMember old = cluster.Elect(1);
        cluster.TickAll(3);
        cluster.Isolate(1);
        bool overlapped = false;
        for (int tick = 0; tick < 40; tick++)
        {
            cluster.TickAll(1);
            bool newLeader = cluster[2].Node.Role == RaftRole.Leader || cluster[3].Node.Role == RaftRole.Leader;
            overlapped |= newLeader && old.Node.LeaseValid;
        }

        Assert.True(cluster[2].Node.Role == RaftRole.Leader || cluster[3].Node.Role == RaftRole.Leader);
        Assert.Equal(expectOverlap, overlapped);
    }
}
