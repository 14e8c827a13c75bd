using Sds.Raft.Tests.Support;

namespace Sds.Raft.Tests;

/// <summary>
/// <see cref="RaftHost"/> keeps the documented order — persist, sync, send, apply, advance — and
/// <see cref="RaftHost.HandleReadyBatch"/> syncs once for many groups (group commit). A recording handler
/// logs each call with the storage state it saw.
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
}
