using Sds.Raft.Tests.Support;

namespace Sds.Raft.Tests;

/// <summary>
/// <see cref="RaftHost"/> keeps the documented order — persist, sync, send, apply, advance — and
/// <see cref="RaftHost.HandleReadyBatch"/> syncs once for many groups (group commit). A recording handler
/// logs each call with the storage state it saw. With <see cref="ReadySendOrder.LeaderAppendsBeforeSync"/> (thesis
/// §10.2.1) only a leader's replication messages leave before the sync, and none from a Ready that changes the term
/// or the vote (rule (a) on <see cref="RaftHost"/>).
/// </summary>
public sealed class RaftHostTests
{
    [Fact]
    public void SingleGroupPersistsAndSyncsBeforeSendingAndAppliesLast()
    {
        MemoryRaftLogStorage storage = new(new ConfState([1, 2, 3], []));
        RawNode node = new(new RaftConfig { Id = 1, Storage = storage, PreVote = false });
        node.Campaign();
        RecordingReadyHandler handler = new([storage]);
        Assert.True(RaftHost.HandleReady(node, storage, handler));
        Assert.Equal(["sync", "send 0 (persisted last=0)"], handler.Calls);
        Assert.Equal(1UL, storage.HardState.Vote); // the vote is durable before the vote requests leave
        Assert.False(RaftHost.HandleReady(node, storage, handler));
    }

    [Fact]
    public void BatchOfGroupsSyncsOnceThenSendsAndAppliesEachGroup()
    {
        List<MemoryRaftLogStorage> storages = [];
        List<RawNode> nodes = [];
        for (int group = 0; group < 3; group++)
        {
            MemoryRaftLogStorage storage = new(new ConfState([1], []));
            RawNode node = new(new RaftConfig { Id = 1, Storage = storage });
            node.Campaign(); // a single voter wins at once and appends its no-op
            storages.Add(storage);
            nodes.Add(node);
        }

        RecordingReadyHandler handler = new(storages);
        int busy = RaftHost.HandleReadyBatch(nodes, storages, new Ready?[3], handler);
        Assert.Equal(3, busy);
        Assert.Equal(1, handler.Calls.Count(c => c == "sync"));
        Assert.Equal("sync", handler.Calls[0]);
        Assert.Equal(["apply 0 1", "apply 1 1", "apply 2 1"], handler.Calls.Where(c => c.StartsWith("apply", StringComparison.Ordinal)));
        Assert.All(storages, s => Assert.Equal(1UL, s.LastIndex));
        Assert.All(nodes, n => Assert.Equal(1UL, n.Applied));
    }

    [Fact]
    public void LeaderAppendsLeaveBeforeTheSyncAndTheRestAfterIt()
    {
        // Goal: the leader's Appends overlap its fsync, nothing else does. Method: elect member 1 of three (its
        // term and vote synced in the candidate's cycle), then run the new leader's first Ready in the parallel
        // order and check the Appends were handed out after Save (persisted last=1) but before the sync, and
        // that the entries are applied only after the sync.
        MemoryRaftLogStorage storage = new(new ConfState([1, 2, 3], []));
        RawNode node = new(new RaftConfig { Id = 1, Storage = storage, PreVote = false });
        node.Campaign();
        RecordingReadyHandler handler = new([storage]);
        Assert.True(RaftHost.HandleReady(node, storage, handler, ReadySendOrder.LeaderAppendsBeforeSync));
        Assert.Equal(["sync", "send 0 (persisted last=0)"], handler.Calls); // the candidate's vote requests wait
        Assert.Equal(["Vote,Vote"], handler.SentTypes);

        Assert.Equal(StepStatus.Accepted, node.Step(new Message { Type = MessageType.VoteResponse, From = 2, To = 1, Term = 1 }));
        Assert.Equal(RaftRole.Leader, node.Role);
        handler.Calls.Clear();
        handler.SentTypes.Clear();
        Assert.True(RaftHost.HandleReady(node, storage, handler, ReadySendOrder.LeaderAppendsBeforeSync));
        Assert.Equal(["send 0 (persisted last=1)", "sync"], handler.Calls);
        Assert.Equal(["Append,Append"], handler.SentTypes);

        // A follower's acknowledgement commits the no-op; its apply still follows that cycle's (commit-only) Ready.
        Assert.Equal(StepStatus.Accepted, node.Step(new Message { Type = MessageType.AppendResponse, From = 2, To = 1, Term = 1, Index = 1 }));
        handler.Calls.Clear();
        Assert.True(RaftHost.HandleReady(node, storage, handler, ReadySendOrder.LeaderAppendsBeforeSync));
        Assert.Equal(["send 0 (persisted last=1)", "apply 0 1"], handler.Calls);
    }

    [Fact]
    public void FollowerResponsesWaitForTheSyncInTheParallelOrder()
    {
        // Goal: an append acknowledgement never precedes the follower's fsync (Figure 2, thesis §3.8), whatever
        // the send order. Method: a follower receives an Append with one entry; its response is sent after sync.
        MemoryRaftLogStorage storage = new(new ConfState([1, 2, 3], []));
        RawNode node = new(new RaftConfig { Id = 2, Storage = storage, PreVote = false });
        RecordingReadyHandler handler = new([storage]);
        Assert.Equal(StepStatus.Accepted, node.Step(new Message
        {
            Type = MessageType.Append, From = 1, To = 2, Term = 1, Index = 0, LogTerm = 0,
            Entries = [new Entry(1, 1, EntryType.Normal, ReadOnlyMemory<byte>.Empty)],
        }));
        Assert.True(RaftHost.HandleReady(node, storage, handler, ReadySendOrder.LeaderAppendsBeforeSync));
        Assert.Equal(["sync", "send 0 (persisted last=1)"], handler.Calls);
        Assert.Equal(["AppendResponse"], handler.SentTypes);
    }

    [Fact]
    public void NewLeaderWhoseTermIsNotYetDurableSendsNothingBeforeTheSync()
    {
        // Goal: rule (a) — no message of a term leaves before that term and vote are durable. Method: a single
        // voter with a learner wins its election within one step, so one Ready carries the new term, the vote
        // and the leader's Append to the learner; in the parallel order that Append must still follow the sync.
        // (A host that sent it early and crashed before the sync would restart in the old term with no vote and
        // could lead the same term again with a different log.)
        MemoryRaftLogStorage storage = new(new ConfState([1], [2]));
        RawNode node = new(new RaftConfig { Id = 1, Storage = storage, PreVote = false });
        node.Campaign();
        Assert.Equal(RaftRole.Leader, node.Role);
        RecordingReadyHandler handler = new([storage]);
        Assert.True(RaftHost.HandleReady(node, storage, handler, ReadySendOrder.LeaderAppendsBeforeSync));
        Assert.Equal("sync", handler.Calls[0]);
        Assert.Contains("send 0 (persisted last=1)", handler.Calls);
        Assert.Contains(handler.SentTypes, static types => types.Contains("Append", StringComparison.Ordinal));
        Assert.Equal(1UL, storage.HardState.Vote);
    }

    [Fact]
    public void BatchSendsEachLeadersAppendsBeforeTheOneSync()
    {
        // Goal: in the multi-group form every leader's Appends leave before the single group-commit sync, a
        // follower's responses after it. Method: group 0 is a fresh leader (term durable), group 1 a follower
        // holding a new entry.
        MemoryRaftLogStorage leaderStorage = new(new ConfState([1, 2, 3], []));
        RawNode leader = new(new RaftConfig { Id = 1, Storage = leaderStorage, PreVote = false });
        leader.Campaign();
        RaftHost.HandleReady(leader, leaderStorage, new RecordingReadyHandler([leaderStorage]));
        leader.Step(new Message { Type = MessageType.VoteResponse, From = 2, To = 1, Term = 1 });
        MemoryRaftLogStorage followerStorage = new(new ConfState([1, 2, 3], []));
        RawNode follower = new(new RaftConfig { Id = 1, Storage = followerStorage, PreVote = false });
        follower.Step(new Message
        {
            Type = MessageType.Append, From = 2, To = 1, Term = 1, Index = 0, LogTerm = 0,
            Entries = [new Entry(1, 1, EntryType.Normal, ReadOnlyMemory<byte>.Empty)],
        });

        List<MemoryRaftLogStorage> storages = [leaderStorage, followerStorage];
        RecordingReadyHandler handler = new(storages);
        Assert.Equal(2, RaftHost.HandleReadyBatch([leader, follower], storages, new Ready?[2], handler, ReadySendOrder.LeaderAppendsBeforeSync));
        Assert.Equal(["send 0 (persisted last=1)", "sync", "send 1 (persisted last=1)"], handler.Calls);
        Assert.Equal(["Append,Append", "AppendResponse"], handler.SentTypes);
    }

    [Fact]
    public void LoneVoterWhoseCommitCoversItsUnsyncedEntrySendsNothingBeforeTheSync()
    {
        // Goal: rule (b) — a commit index that counts the leader's own unsynced entry never leaves before the sync.
        // Method: a single voter with a learner (a PG of one replica gaining a member) commits a proposal at append;
        // the Append to the learner carries that commit index, so it must follow the sync. Sent early, the learner
        // could apply an entry the leader then loses by crashing before its sync.
        MemoryRaftLogStorage storage = new(new ConfState([1], [2]));
        RawNode node = new(new RaftConfig { Id = 1, Storage = storage, PreVote = false });
        node.Campaign();
        RecordingReadyHandler handler = new([storage]);
        Assert.True(RaftHost.HandleReady(node, storage, handler, ReadySendOrder.LeaderAppendsBeforeSync));
        // The learner acknowledges the no-op, so its progress replicates and the next proposal goes out at once.
        Assert.Equal(StepStatus.Accepted, node.Step(new Message { Type = MessageType.AppendResponse, From = 2, To = 1, Term = 1, Index = 1 }));
        while (RaftHost.HandleReady(node, storage, handler, ReadySendOrder.LeaderAppendsBeforeSync))
        {
        }

        Assert.Equal(ProposeStatus.Accepted, node.Propose(new byte[] { 1 }).Status);
        Assert.Equal(node.LastIndex, node.Committed); // committed at append: the lone voter counted itself
        handler.Calls.Clear();
        Assert.True(RaftHost.HandleReady(node, storage, handler, ReadySendOrder.LeaderAppendsBeforeSync));
        Assert.Equal("sync", handler.Calls[0]);
        Assert.Contains("send 0 (persisted last=2)", handler.Calls);
    }
}
