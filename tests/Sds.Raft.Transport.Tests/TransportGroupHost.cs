using System.Collections.Concurrent;

namespace Sds.Raft.Transport.Tests;

/// <summary>
/// A minimal Multi-Raft host for the transport tests: many groups on one node, one thread ticking them,
/// stepping delivered messages and running <see cref="RaftHost.HandleReadyBatch"/> with sends through a
/// <see cref="RaftTransportClient"/>. Storage is in memory; this tests the transport, not durability.
/// </summary>
internal sealed class TransportGroupHost : IRaftMessageHandler, IRaftTransportReporter, IReadyHandler, IAsyncDisposable
{
    private readonly ConcurrentQueue<(ulong Group, Message Message)> inbox = new();
    private readonly ConcurrentQueue<(ulong Group, ulong To)> unreachable = new();
    private readonly Dictionary<ulong, int> groupIndex = [];
    private readonly List<RawNode> nodes = [];
    private readonly List<IRaftLogStorage> storages = [];
    private readonly List<ulong> groupIds = [];
    private readonly Func<ulong, string> memberToNode;
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;
    private readonly object gate = new();

    public TransportGroupHost(ulong memberId, IEnumerable<ulong> groups, ulong[] voters, Func<ulong, string> memberToNode, Func<TransportGroupHost, RaftTransportClient> client)
    {
        this.memberToNode = memberToNode;
        foreach (ulong group in groups)
        {
            var storage = new MemoryRaftLogStorage(new ConfState(voters, []));
            groupIndex[group] = nodes.Count;
            groupIds.Add(group);
            storages.Add(storage);
            nodes.Add(new RawNode(new RaftConfig { Id = memberId, Storage = storage, ElectionTicks = 10, HeartbeatTicks = 1, Random = new SplitMix64Random(memberId * 31 + group) }));
        }

        Client = client(this);
        loop = Task.Run(() => RunAsync(stop.Token));
    }

    public RaftTransportClient Client { get; }

    public long Applied;

    public bool Deliver(ulong groupId, ulong groupEpoch, Message message)
    {
        if (!groupIndex.ContainsKey(groupId) || inbox.Count > 10000)
        {
            return false;
        }

        inbox.Enqueue((groupId, message));
        return true;
    }

    public void ReportUnreachable(ulong groupId, ulong toMemberId) => unreachable.Enqueue((groupId, toMemberId));

    public void ReportSnapshot(ulong groupId, ulong toMemberId, bool failed)
    {
    }

    public T Locked<T>(Func<IReadOnlyList<RawNode>, T> action)
    {
        lock (gate)
        {
            return action(nodes);
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var readies = new Ready?[nodes.Count];
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            lock (gate)
            {
                foreach (RawNode node in nodes)
                {
                    node.Tick();
                }

                while (inbox.TryDequeue(out var item))
                {
                    nodes[groupIndex[item.Group]].Step(item.Message);
                }

                while (unreachable.TryDequeue(out var item))
                {
                    nodes[groupIndex[item.Group]].ReportUnreachable(item.To);
                }

                RaftHost.HandleReadyBatch(nodes, storages, readies, this);
            }
        }
    }

    public void Sync()
    {
    }

    public void Send(int index, IReadOnlyList<Message> messages)
    {
        foreach (Message message in messages)
        {
            Client.Send(memberToNode(message.To), groupIds[index], 0, message);
        }
    }

    public void ApplySnapshot(int index, Snapshot snapshot)
    {
    }

    public void Apply(int index, IReadOnlyList<Entry> committedEntries, IReadOnlyList<ReadState> readStates)
    {
        foreach (Entry entry in committedEntries)
        {
            if (entry.Type == EntryType.Normal && entry.Data.Length > 0)
            {
                Interlocked.Increment(ref Applied);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        try
        {
            await loop;
        }
        catch (OperationCanceledException)
        {
        }

        await Client.DisposeAsync();
        stop.Dispose();
    }
}
