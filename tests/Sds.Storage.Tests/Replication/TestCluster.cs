using System.Diagnostics;
using Sds.Storage.Client;
using Sds.Storage.Placement;
using Sds.Storage.Replication;

namespace Sds.Storage.Tests.Replication;

/// <summary>
/// N storage nodes in this process, each with its own data directory and gRPC server on loopback, sharing a
/// <see cref="StaticPlacementSource"/>. Nodes can be killed (disposed) and restarted on the same port and data.
/// Ticks are 20 ms, so an election takes about 200–400 ms.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(20);

    private readonly TemporaryDirectory directory = new();
    private readonly string storeKind;
    private readonly Dictionary<ulong, string> listen = [];

    private TestCluster(StaticPlacementSource placement, string storeKind)
    {
        Placement = placement;
        this.storeKind = storeKind;
    }

    public StaticPlacementSource Placement { get; }

    public Dictionary<ulong, StorageNode> Nodes { get; } = [];

    public static async Task<TestCluster> StartAsync(int nodeCount, int pgs, int replicas, string storeKind = "file", int placedNodes = 0)
    {
        placedNodes = placedNodes == 0 ? nodeCount : placedNodes;
        var peers = new Dictionary<ulong, string>();
        for (ulong id = 1; id <= (ulong)placedNodes; id++)
        {
            peers[id] = "127.0.0.1:1";
        }

        var cluster = new TestCluster(new StaticPlacementSource(peers, pgs, replicas), storeKind);
        for (ulong id = 1; id <= (ulong)nodeCount; id++)
        {
            await cluster.StartNodeAsync(id);
        }

        return cluster;
    }

    public string DataDirectory(ulong id) => directory.Sub("node" + id);

    /// <summary>Free space each node keeps under its Raft log (tests raise it to simulate a full disk).</summary>
    public long RaftLogReserveBytes { get; set; } = Sds.Storage.RaftLog.RaftLogEngine.FreeSpaceReserveBytesDefault;

    public async Task StartNodeAsync(ulong id)
    {
        var config = new StorageNodeConfig
        {
            NodeId = id,
            DataDirectory = DataDirectory(id),
            Listen = listen.TryGetValue(id, out string? address) ? address : "127.0.0.1:0",
            StoreKind = storeKind,
            RaftLogFreeSpaceReserveBytes = RaftLogReserveBytes,
            Options = new StorageNodeOptions { NodeId = id, TickInterval = Tick, ElectionTicks = 10, FlushInterval = TimeSpan.FromMilliseconds(200) },
        };
        (StorageNode? node, string? error) = await StorageNode.StartAsync(config, Placement);
        Assert.True(node is not null, error);
        listen[id] = node!.Address;
        Nodes[id] = node;
    }

    public async Task KillAsync(ulong id)
    {
        StorageNode node = Nodes[id];
        Nodes.Remove(id);
        await node.DisposeAsync();
    }

    public StorageClient NewClient() => new(Placement, new StorageClientOptions { RequestTimeout = TimeSpan.FromSeconds(20) });

    /// <summary>The node that leads <paramref name="pg"/> per its own view, 0 if none yet.</summary>
    public ulong LeaderOf(uint pg)
    {
        foreach ((ulong id, StorageNode node) in Nodes)
        {
            if (node.Host.View(pg) is { Role: Sds.Raft.RaftRole.Leader })
            {
                return id;
            }
        }

        return 0;
    }

    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(10);
        }

        return condition();
    }

    public async Task WaitForLeadersAsync(int pgs)
    {
        for (uint pg = 0; pg < pgs; pg++)
        {
            uint p = pg;
            Assert.True(await WaitUntilAsync(() => LeaderOf(p) != 0, TimeSpan.FromSeconds(15)), $"PG {pg} elected a leader");
        }
    }

    /// <summary>Waits until every live replica of <paramref name="pg"/> applied as far as the leader.</summary>
    public async Task WaitForReplicasAppliedAsync(uint pg)
    {
        bool converged = await WaitUntilAsync(() =>
        {
            ulong leader = LeaderOf(pg);
            if (leader == 0)
            {
                return false;
            }

            ulong applied = Nodes[leader].Host.View(pg)!.Applied;
            return Nodes.Values.All(n => n.Host.View(pg) is not { } v || v.Applied >= applied);
        }, TimeSpan.FromSeconds(15));
        Assert.True(converged, $"replicas of PG {pg} applied as far as the leader");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (StorageNode node in Nodes.Values)
        {
            await node.DisposeAsync();
        }

        Nodes.Clear();
        directory.Dispose();
    }
}
