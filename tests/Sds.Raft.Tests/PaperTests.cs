using Sds.Raft.Tests.Support;

namespace Sds.Raft.Tests;

/// <summary>
/// One test per claim of the Raft paper (Ongaro &amp; Ousterhout, 2014), tagged with its section. Each drives a
/// <see cref="TestCluster"/> by hand (PreVote off where the claim is about plain elections) and asserts
/// the claimed behaviour on the core's state and messages.
/// </summary>
public sealed class PaperTests
{
    private static RaftConfig Plain(ulong id, MemoryRaftLogStorage storage) => TestCluster.DefaultConfig(id, storage) is var c
        ? new RaftConfig { Id = c.Id, Storage = c.Storage, ElectionTicks = c.ElectionTicks, HeartbeatTicks = c.HeartbeatTicks, Random = c.Random, PreVote = false, CheckQuorum = false }
        : throw new InvalidOperationException();

    private static Message Msg(MessageType type, ulong from, ulong to, ulong term, ulong index = 0, ulong logTerm = 0, ulong commit = 0, Entry[]? entries = null) =>
        new() { Type = type, From = from, To = to, Term = term, Index = index, LogTerm = logTerm, Commit = commit, Entries = entries ?? [] };

    [Fact]
    public void HigherTermInAnyMessageMakesAServerAFollowerOfThatTerm()
    {
        // Raft §5.1: "If a server receives a request with a stale term number it rejects it"; if it sees a
        // larger term it updates its current term and reverts to follower.
        TestCluster cluster = new(3, Plain);
        TestMember leader = cluster.Elect(1);
        ulong higherTerm = leader.Node.Term + 3;
        leader.Node.Step(Msg(MessageType.Append, 2, 1, higherTerm));
        Assert.Equal(RaftRole.Follower, leader.Node.Role);
        Assert.Equal(higherTerm, leader.Node.Term);
        Assert.Equal(2UL, leader.Node.Leader);
    }

    [Fact]
    public void StaleTermRequestsAreRejected()
    {
        // Raft §5.1: a request with a stale term is rejected — a stale vote request gets no vote.
        TestCluster cluster = new(3, Plain);
        cluster.Elect(1);
        TestMember follower = cluster[2];
        ulong vote = follower.Raft.Vote;
        follower.Node.Step(Msg(MessageType.Vote, 3, 2, 0, index: 100, logTerm: 100));
        Assert.DoesNotContain(follower.Drain(), m => m.Type == MessageType.VoteResponse && !m.Reject);
        Assert.Equal(vote, follower.Raft.Vote);
    }

    [Fact]
    public void FollowerStartsAnElectionAfterTheElectionTimeout()
    {
        // Raft §5.2: a follower that hears nothing for an election timeout increments its term, votes for
        // itself and sends RequestVote to every other server.
        TestCluster cluster = new(3, Plain);
        TestMember member = cluster[1];
        for (int i = 0; i < 20 && member.Node.Role == RaftRole.Follower; i++)
        {
            member.Node.Tick();
        }

        Assert.Equal(RaftRole.Candidate, member.Node.Role);
        Assert.Equal(1UL, member.Node.Term);
        Assert.Equal(1UL, member.Raft.Vote);
        List<Message> sent = member.Drain();
        Assert.Equal([2UL, 3UL], sent.Where(m => m.Type == MessageType.Vote).Select(m => m.To).Order());
    }

    [Fact]
    public void ElectionTimeoutsAreRandomizedBetweenOneAndTwoTimeouts()
    {
        // Raft §5.2: randomized election timeouts make split votes rare; ours lie in [T, 2T).
        HashSet<int> observed = [];
        for (ulong seed = 1; seed <= 50; seed++)
        {
            MemoryRaftLogStorage storage = new(new ConfState([1, 2, 3], []));
            RawNode node = new(new RaftConfig { Id = 1, Storage = storage, PreVote = false, CheckQuorum = false, Random = new SplitMix64Random(seed) });
            int ticks = 0;
            while (node.Role == RaftRole.Follower)
            {
                node.Tick();
                ticks++;
            }

            Assert.InRange(ticks, 10, 19);
            observed.Add(ticks);
        }

        Assert.True(observed.Count > 3, "timeouts should vary");
    }

    [Fact]
    public void CandidateWithAMajorityBecomesLeaderAndMinorityDoesNot()
    {
        // Raft §5.2: a candidate wins with votes from a majority; without one it stays a candidate.
        TestCluster cluster = new(5, Plain);
        cluster.Isolate(4);
        cluster.Isolate(5);
        cluster.Block(1, 3);
        cluster.Block(3, 1);
        cluster[1].Node.Campaign();
        cluster.Stabilize();
        Assert.Equal(RaftRole.Candidate, cluster[1].Node.Role); // votes: 1, 2 of 5

        cluster.Heal();
        cluster[1].Node.Campaign();
        cluster.Stabilize();
        Assert.Equal(RaftRole.Leader, cluster[1].Node.Role);
    }

    [Fact]
    public void EachServerVotesForAtMostOneCandidatePerTerm()
    {
        // Raft §5.2: "each server will vote for at most one candidate in a given term, first-come-first-served".
        TestCluster cluster = new(3, Plain);
        TestMember voter = cluster[3];
        voter.Node.Step(Msg(MessageType.Vote, 1, 3, 1));
        voter.Node.Step(Msg(MessageType.Vote, 2, 3, 1));
        voter.Node.Step(Msg(MessageType.Vote, 1, 3, 1)); // a retry from the chosen candidate is granted again
        List<Message> responses = voter.Drain().Where(m => m.Type == MessageType.VoteResponse).ToList();
        Assert.Equal([false, true, false], responses.Select(m => m.Reject));
        Assert.Equal(1UL, voter.Raft.Vote);
    }

    [Fact]
    public void CandidateStepsDownOnAppendFromALeaderOfItsTerm()
    {
        // Raft §5.2: a candidate that receives AppendEntries from a leader with a term at least its own
        // recognizes the leader and returns to follower.
        TestCluster cluster = new(3, Plain);
        cluster.Isolate(1);
        cluster[1].Node.Campaign();
        cluster.Stabilize();
        Assert.Equal(RaftRole.Candidate, cluster[1].Node.Role);
        cluster[1].Node.Step(Msg(MessageType.Append, 2, 1, cluster[1].Node.Term));
        Assert.Equal(RaftRole.Follower, cluster[1].Node.Role);
        Assert.Equal(2UL, cluster[1].Node.Leader);
    }

    [Fact]
    public void NewLeaderAppendsAnEntryOfItsTerm()
    {
        // Raft §8 / §5.4.2: a new leader commits a blank entry of its own term at the start of its term.
        TestCluster cluster = new(3, Plain);
        TestMember leader = cluster.Elect(1);
        Assert.Equal(1UL, leader.Node.Committed);
        Entry noOp = leader.Applied.Single();
        Assert.Equal(leader.Node.Term, noOp.Term);
        Assert.True(noOp.Data.IsEmpty);
    }

    [Fact]
    public void LeaderReplicatesAndCommitsOnAMajorityAndFollowersLearnTheCommitIndex()
    {
        // Raft §5.3: the leader appends the command, replicates it, commits it once a majority stores it,
        // and followers apply it after learning the commit index from later AppendEntries/heartbeats.
        TestCluster cluster = new(5, Plain);
        cluster.Elect(1);
        cluster.Isolate(4);
        cluster.Isolate(5);
        ProposeResult result = cluster.Propose(1, "x");
        Assert.True(result.IsAccepted);
        Assert.Equal(result.Index, cluster[1].Node.Committed);
        cluster.TickAll(1);
        foreach (ulong id in new ulong[] { 1, 2, 3 })
        {
            Assert.Equal("x", TestCluster.Text(cluster[id].Applied.Last()));
        }

        Assert.DoesNotContain(cluster[4].Applied, e => !e.Data.IsEmpty);
    }

    [Fact]
    public void CommitNeedsAMajority()
    {
        // Raft §5.3: with only a minority storing the entry it stays uncommitted.
        TestCluster cluster = new(5, Plain);
        cluster.Elect(1);
        cluster.Isolate(3);
        cluster.Isolate(4);
        cluster.Isolate(5);
        ulong before = cluster[1].Node.Committed;
        ProposeResult result = cluster.Propose(1, "x");
        Assert.True(result.IsAccepted);
        Assert.Equal(before, cluster[1].Node.Committed);
    }

    [Fact]
    public void FollowerRejectsAppendWhosePreviousEntryDoesNotMatch()
    {
        // Raft §5.3 consistency check: "If the follower does not find an entry in its log with the same
        // index and term, then it refuses the new entries."
        TestCluster cluster = new(3, Plain);
        TestMember follower = cluster[2];
        follower.Node.Step(Msg(MessageType.Append, 1, 2, 1, index: 5, logTerm: 1, entries: [new Entry(1, 6, EntryType.Normal, new byte[] { 1 })]));
        Message response = follower.Drain().Single(m => m.Type == MessageType.AppendResponse);
        Assert.True(response.Reject);
        Assert.Equal(0UL, follower.Node.LastIndex);
    }

    [Fact]
    public void LeaderOverwritesConflictingFollowerEntriesAndMakesLogsMatch()
    {
        // Raft §5.3 (Log Matching): the leader finds the last agreeing index, deletes the follower's
        // entries after it and sends its own; afterwards the logs are identical.
        TestCluster cluster = new(3, Plain);
        cluster.Elect(1);
        cluster.Isolate(1);
        cluster[1].Node.Propose(new byte[] { 9 });
        cluster[1].Node.Propose(new byte[] { 9 });
        cluster.Stabilize(); // uncommitted entries of term 1 on the old leader only
        cluster.Heal();
        cluster.Isolate(1);
        cluster.Heal();
        cluster.Isolate(1);
        TestMember newLeader = cluster.Elect(2);
        cluster.Propose(2, "y");
        cluster.Heal();
        cluster.TickAll(2);
        Assert.Equal(RaftRole.Follower, cluster[1].Node.Role);
        AssertLogsEqual(cluster[1], newLeader);
    }

    [Fact]
    public void VoterRejectsACandidateWhoseLogIsLessUpToDate()
    {
        // Raft §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of the candidate".
        TestCluster cluster = new(3, Plain);
        cluster.Elect(1);
        cluster.Propose(1, "x");
        TestMember voter = cluster[2];
        ulong term = voter.Node.Term + 1;
        voter.Node.Step(Msg(MessageType.Vote, 3, 2, term, index: 1, logTerm: voter.Node.Term)); // shorter log, same last term
        voter.Node.Step(Msg(MessageType.Vote, 3, 2, term + 1, index: 99, logTerm: 0));        // longer log, older last term
        Assert.All(voter.Drain().Where(m => m.Type == MessageType.VoteResponse), m => Assert.True(m.Reject));
    }

    [Fact]
    public void LeaderNeverCommitsAPreviousTermEntryByCountingReplicas()
    {
        // Raft §5.4.2 and Figure 8: an entry from an earlier term is not committed because a majority holds
        // it; it becomes committed only with an entry of the current term.
        // Member 1 restarts at term 2 holding an uncommitted entry of term 2, wins term 3, and hears that
        // member 2 stores index 2 — a majority holds it, yet it is not committed until the no-op is.
        MemoryRaftLogStorage storage = new(new ConfState([1, 2, 3], []));
        storage.Save(new HardState(2, 1, 0), [new Entry(1, 1, EntryType.Normal, new byte[] { 1 }), new Entry(2, 2, EntryType.Normal, new byte[] { 2 })], null);
        RawNode node = new(new RaftConfig { Id = 1, Storage = storage, PreVote = false, CheckQuorum = false });
        node.Campaign();
        node.Step(Msg(MessageType.VoteResponse, 2, 1, 3));
        Assert.Equal(RaftRole.Leader, node.Role);
        node.Step(Msg(MessageType.AppendResponse, 2, 1, 3, index: 2)); // member 2 holds index 2 (term 2)
        Assert.Equal(0UL, node.Committed);
        node.Step(Msg(MessageType.AppendResponse, 2, 1, 3, index: 3)); // and now the term-3 no-op
        Assert.Equal(3UL, node.Committed);
    }

    [Fact]
    public void FollowerThatWasDownCatchesUpWhenItReturns()
    {
        // Raft §5.5: the leader retries AppendEntries indefinitely; a returning follower is brought up to date.
        TestCluster cluster = new(3, Plain);
        cluster.Elect(1);
        cluster.Isolate(3);
        for (int i = 0; i < 5; i++)
        {
            cluster.Propose(1, $"v{i}");
        }

        cluster.Heal();
        cluster.TickAll(2);
        AssertLogsEqual(cluster[3], cluster[1]);
        Assert.Equal(cluster[1].Node.Committed, cluster[3].Node.Committed);
    }

    [Fact]
    public void AppendIsIdempotent()
    {
        // Raft §5.5: "Raft RPCs are idempotent" — a repeated AppendEntries changes nothing.
        TestCluster cluster = new(3, Plain);
        TestMember follower = cluster[2];
        Message append = Msg(MessageType.Append, 1, 2, 1, index: 0, logTerm: 0, commit: 0, entries: [new Entry(1, 1, EntryType.Normal, new byte[] { 1 })]);
        follower.Node.Step(append);
        follower.Drain();
        follower.Node.Step(append);
        List<Message> second = follower.Drain();
        Assert.Equal(1UL, follower.Node.LastIndex);
        Assert.False(second.Single(m => m.Type == MessageType.AppendResponse).Reject);
    }

    internal static void AssertLogsEqual(TestMember a, TestMember b)
    {
        Assert.Equal(b.Node.LastIndex, a.Node.LastIndex);
        for (ulong i = Math.Max(a.Raft.Log.FirstIndex, b.Raft.Log.FirstIndex); i <= a.Node.LastIndex; i++)
        {
            Assert.Equal(b.Raft.Log.TermOrZero(i), a.Raft.Log.TermOrZero(i));
        }
    }
}
