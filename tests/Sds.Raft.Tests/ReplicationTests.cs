using Sds.Raft.Tests.Support;

namespace Sds.Raft.Tests;

/// <summary>
/// Flow control of log replication: per-follower probe/replicate states, the bounded inflight window,
/// batching by message size, and conflict-term fast backtracking. Messages are inspected directly.
/// </summary>
public sealed class ReplicationTests
{
    private static RaftConfig Small(ulong id, MemoryRaftLogStorage storage) => new()
    {
        Id = id, Storage = storage, MaxInflightMessages = 2, MaxSizePerMessageBytes = 100, Random = new SplitMix64Random(id),
    };

    [Fact]
    public void PipelinedAppendsStopAtTheInflightWindow()
    {
        // Goal: in replicate state the leader keeps at most MaxInflightMessages Appends unanswered.
        TestCluster cluster = new(3, Small);
        TestMember leader = cluster.Elect(1);
        cluster.Isolate(2);
        cluster.Isolate(3);
        for (int i = 0; i < 6; i++)
        {
            leader.Node.Propose(new byte[10]);
        }

        List<Message> sent = leader.Drain();
        Assert.Equal(2, sent.Count(m => m.Type == MessageType.Append && m.To == 2 && m.Entries.Length > 0));
        Progress progress = leader.Raft.Tracker.Progress[2];
        Assert.Equal(ProgressState.Replicate, progress.State);
        Assert.True(progress.IsPaused);
    }

    [Fact]
    public void AppendsAreBatchedUpToTheMessageSizeLimit()
    {
        // Goal: one Append carries as many entries as fit MaxSizePerMessageBytes (at least one).
        TestCluster cluster = new(3, Small);
        TestMember leader = cluster.Elect(1);
        cluster.Isolate(2);
        cluster.Isolate(3);
        for (int i = 0; i < 6; i++)
        {
            leader.Node.Propose(new byte[10]); // 34 bytes each with the per-entry overhead
        }

        cluster.Stabilize();
        cluster.Heal();
        leader.Raft.Tracker.Progress[2].BecomeProbe();
        leader.Node.ReportUnreachable(2);
        cluster.TickAll(1);
        List<Message> appends = cluster.Dropped.Where(m => m.Type == MessageType.Append).ToList();
        Assert.All(appends, m => Assert.True(m.Entries.Sum(e => (long)e.SizeBytes) <= 100 || m.Entries.Length == 1));
        Assert.Equal(leader.Node.LastIndex, cluster[2].Node.LastIndex);
    }

    [Fact]
    public void ConflictHintSkipsAWholeTermInOneRoundTrip()
    {
        // Goal: Raft §5.3's optimization — a follower holding many entries of a stale term is repaired with
        // one rejection, not one per entry.
        MemoryRaftLogStorage storage = new(new ConfState([1, 2], []));
        List<Entry> stale = [new Entry(1, 1, EntryType.Normal, ReadOnlyMemory<byte>.Empty)];
        for (ulong i = 2; i <= 20; i++)
        {
            stale.Add(new Entry(2, i, EntryType.Normal, new byte[] { 1 }));
        }

        storage.Save(new HardState(2, 0, 1), stale.ToArray(), null);
        RawNode follower = new(new RaftConfig { Id = 2, Storage = storage, CheckQuorum = false });

        // The leader (term 3) has index 1 (term 1) and then entries of term 3 from index 2.
        follower.Step(new Message { Type = MessageType.Append, From = 1, To = 2, Term = 3, Index = 30, LogTerm = 3, Commit = 1 });
        Ready ready = follower.GetReady();
        Message rejection = ready.Messages.Single();
        Assert.True(rejection.Reject);
        Assert.Equal(20UL, rejection.RejectHint); // our last index; its term (2) is below the leader's 3
        Assert.Equal(2UL, rejection.LogTerm);
        follower.Advance(ready);

        // With the leader's log [1:t1, 2..30:t3], FindConflictByTerm(20, 2) lands on index 1 at once.
        MemoryRaftLogStorage leaderStorage = new(new ConfState([1, 2], []));
        List<Entry> leaderLog = [new Entry(1, 1, EntryType.Normal, ReadOnlyMemory<byte>.Empty)];
        for (ulong i = 2; i <= 30; i++)
        {
            leaderLog.Add(new Entry(3, i, EntryType.Normal, new byte[] { 2 }));
        }

        leaderStorage.Save(new HardState(3, 1, 1), leaderLog.ToArray(), null);
        RaftLog log = new RawNode(new RaftConfig { Id = 1, Storage = leaderStorage }).Raft.Log;
        Assert.Equal((1UL, 1UL), log.FindConflictByTerm(rejection.RejectHint, rejection.LogTerm));
    }

    [Fact]
    public void LaggingFollowerIsProbedThenReplicated()
    {
        TestCluster cluster = new(3, Small);
        TestMember leader = cluster.Elect(1);
        cluster.Isolate(3);
        for (int i = 0; i < 10; i++)
        {
            cluster.Propose(1, $"e{i}");
        }

        cluster.Heal();
        cluster.TickAll(3);
        Assert.Equal(ProgressState.Replicate, leader.Raft.Tracker.Progress[3].State);
        Assert.Equal(leader.Node.LastIndex, leader.Raft.Tracker.Progress[3].Match);
        PaperTests.AssertLogsEqual(cluster[3], leader);
    }

    [Fact]
    public void ProposalsAreDroppedWithASentinelWithoutALeader()
    {
        TestCluster cluster = new(3);
        Assert.Equal(ProposeStatus.DroppedNoLeader, cluster[1].Node.Propose(new byte[] { 1 }).Status);
        cluster.Elect(1);
        ProposeResult notLeader = cluster[2].Node.Propose(new byte[] { 1 });
        Assert.Equal(ProposeStatus.NotLeader, notLeader.Status);
        Assert.Equal(1UL, notLeader.LeaderHint);
    }

    [Fact]
    public void ProposalsBeyondTheUncommittedBudgetAreDroppedUntilCommitted()
    {
        // Bound everything (STYLE.md): a leader that can't commit stops accepting bytes at MaxUncommittedBytes.
        TestCluster cluster = new(3, static (id, s) => new RaftConfig { Id = id, Storage = s, MaxUncommittedBytes = 200, Random = new SplitMix64Random(id) });
        TestMember leader = cluster.Elect(1);
        cluster.Isolate(1);
        int accepted = 0;
        ProposeResult result;
        while ((result = leader.Node.Propose(new byte[50])).IsAccepted)
        {
            accepted++;
            leader.Drain();
        }

        Assert.Equal(ProposeStatus.DroppedUncommittedLimit, result.Status);
        Assert.InRange(accepted, 1, 4);
        cluster.Heal();
        cluster.TickAll(2);
        Assert.True(leader.Node.Propose(new byte[50]).IsAccepted);
    }

    [Fact]
    public void ReadsBeyondThePendingBoundAreDropped()
    {
        TestCluster cluster = new(3, static (id, s) => new RaftConfig { Id = id, Storage = s, MaxPendingReads = 2, Random = new SplitMix64Random(id) });
        TestMember leader = cluster.Elect(1);
        cluster.Isolate(1);
        Assert.Equal(ReadIndexStatus.Accepted, leader.Node.ReadIndex(1));
        Assert.Equal(ReadIndexStatus.Accepted, leader.Node.ReadIndex(2));
        Assert.Equal(ReadIndexStatus.DroppedQueueFull, leader.Node.ReadIndex(3));
    }
}
