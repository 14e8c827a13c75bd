using Sds.Raft.Tests.Support;

namespace Sds.Raft.Tests;

/// <summary>
/// Elections beyond the paper's basics: PreVote (thesis §9.6), CheckQuorum step-down (thesis §6.2), and the
/// vote-ignoring lease that stops disruptive candidates (thesis §4.2.3). Each test drives a 3-member
/// <see cref="TestCluster"/> with explicit partitions and ticks.
/// </summary>
public sealed class ElectionTests
{
    [Fact]
    public void PreVoteKeepsAStableLeaderWhenAPartitionedMemberReturns()
    {
        // Goal: a member cut off for many election timeouts must not bump the term and depose the leader
        // when it comes back. Method: isolate it, let it time out repeatedly, heal, and compare terms.
        TestCluster cluster = new(3);
        TestMember leader = cluster.Elect(1);
        ulong term = leader.Node.Term;
        cluster.Isolate(3);
        cluster.TickAll(60);
        Assert.Equal(term, cluster[3].Node.Term); // pre-candidates never increment their term
        Assert.Equal(RaftRole.PreCandidate, cluster[3].Node.Role);

        cluster.Heal();
        cluster.TickAll(5);
        Assert.Equal(RaftRole.Leader, leader.Node.Role);
        Assert.Equal(term, leader.Node.Term);
        Assert.Equal(RaftRole.Follower, cluster[3].Node.Role);
        Assert.Equal(1UL, cluster[3].Node.Leader);
    }

    [Fact]
    public void WithoutPreVoteAReturningMemberWouldDisruptTheLeader()
    {
        // Goal: show the negative space — the same scenario with PreVote and CheckQuorum off bumps terms.
        TestCluster cluster = new(3, static (id, s) => new RaftConfig { Id = id, Storage = s, PreVote = false, CheckQuorum = false, Random = new SplitMix64Random(id) });
        TestMember leader = cluster.Elect(1);
        ulong term = leader.Node.Term;
        cluster.Isolate(3);
        cluster.TickAll(60);
        Assert.True(cluster[3].Node.Term > term);
        cluster.Heal();
        cluster.TickAll(20);
        Assert.True(leader.Node.Term > term);
    }

    [Fact]
    public void CheckQuorumLeaderStepsDownWhenItCannotReachAMajority()
    {
        // Goal: thesis §6.2 — a leader partitioned into a minority steps down within two election timeouts.
        TestCluster cluster = new(3);
        TestMember leader = cluster.Elect(1);
        cluster.Isolate(1);
        for (int i = 0; i < 20; i++)
        {
            leader.Node.Tick();
        }

        Assert.Equal(RaftRole.Follower, leader.Node.Role);
        Assert.Equal(0UL, leader.Node.Leader);
    }

    [Fact]
    public void CheckQuorumLeaderStaysWhileAMajorityAnswers()
    {
        TestCluster cluster = new(3);
        TestMember leader = cluster.Elect(1);
        cluster.Isolate(3);
        cluster.TickAll(50);
        Assert.Equal(RaftRole.Leader, leader.Node.Role);
    }

    [Fact]
    public void FollowersInLeaseIgnoreVoteRequestsOfHigherTerms()
    {
        // Goal: thesis §4.2.3 — while a follower hears from its leader it ignores vote requests, so a
        // removed or partitioned member can't force an election.
        TestCluster cluster = new(3);
        TestMember leader = cluster.Elect(1);
        TestMember follower = cluster[2];
        ulong term = follower.Node.Term;
        follower.Node.Step(new Message { Type = MessageType.Vote, From = 3, To = 2, Term = term + 5, Index = 99, LogTerm = 99 });
        Assert.Equal(term, follower.Node.Term);
        Assert.DoesNotContain(follower.Drain(), m => m.Type == MessageType.VoteResponse);
        Assert.Equal(RaftRole.Leader, leader.Node.Role);
    }

    [Fact]
    public void RestartedMemberIgnoresVotesForOneElectionTimeout()
    {
        // Goal: the leader lease survives follower restarts — a restarted member can't remember whether it
        // acknowledged a leader, so it behaves as if it just did.
        TestCluster cluster = new(3);
        cluster.Elect(1);
        cluster.Restart(2);
        TestMember restarted = cluster[2];
        ulong term = restarted.Node.Term;
        restarted.Node.Step(new Message { Type = MessageType.Vote, From = 3, To = 2, Term = term + 1, Index = 99, LogTerm = 99 });
        Assert.Equal(term, restarted.Node.Term);
        for (int i = 0; i < 10; i++)
        {
            restarted.Node.Tick();
        }

        restarted.Drain();
        restarted.Node.Step(new Message { Type = MessageType.Vote, From = 3, To = 2, Term = term + 1, Index = 99, LogTerm = 99 });
        Assert.Contains(restarted.Drain(), m => m.Type == MessageType.VoteResponse && !m.Reject);
    }

    [Fact]
    public void SplitVoteIsResolvedByALaterElection()
    {
        // Goal: Raft §5.2 — randomized timeouts eventually elect exactly one leader after a split.
        TestCluster cluster = new(3);
        cluster.TickAll(60);
        Assert.Single(cluster.Members.Values, m => m.Node.Role == RaftRole.Leader);
    }
}
