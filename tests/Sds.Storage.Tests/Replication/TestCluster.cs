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

    /// <summary>
    /// Rebuilds one follower of <paramref name="pg"/> on the node outside it, from a snapshot: every voter's log is
    /// compacted completely (a snapshot is then the only way to catch up), the follower is replaced in placement,
    /// and this waits until the new member is a voter, installed a snapshot, and the old member is gone. Returns the
    /// new member. Needs one node more than the PG's replicas.
    /// </summary>
    public async Task<ulong> RebuildAFollowerFromSnapshotAsync(uint pg)
    {
        PlacementGroupAssignment initial = Placement.GetAssignment(pg);
        ulong spare = Nodes.Keys.Single(id => !initial.Contains(id));
        ulong leader = LeaderOf(pg);
        ulong replaced = initial.Voters.First(id => id != leader);
        foreach (ulong id in initial.Voters)
        {
            await Nodes[id].Host.CompactNowAsync(pg);
        }

        Assert.True(Nodes[leader].Host.View(pg)!.FirstLogIndex > 1, "the leader's log was compacted");
        var clock = Stopwatch.StartNew();
        Placement.Reassign(pg, [.. initial.Voters.Where(id => id != replaced), spare], []);
        bool rebuilt = await WaitUntilAsync(() =>
            Nodes[spare].Host.View(pg) is { } view && view.Voters.Contains(spare) && !view.Voters.Contains(replaced) &&
            Nodes[replaced].Host.View(pg) is null, TimeSpan.FromSeconds(30));
        if (!rebuilt)
        {
            foreach ((ulong id, StorageNode node) in Nodes)
            {
                var v = node.Host.View(pg);
                Console.WriteLine(v is null ? $"node {id}: no replica" : $"node {id}: {v.Role} leader={v.Leader} term={v.Term} commit={v.Committed} applied={v.Applied} first={v.FirstLogIndex} voters=[{string.Join(",", v.Voters)}] learners=[{string.Join(",", v.Learners)}] snapshots={node.Fetcher.SnapshotsInstalled}");
            }
        }

        Assert.True(rebuilt, "learner added, caught up by snapshot, promoted; old member removed");
        Console.WriteLine($"rebuild: learner → snapshot → promote → remove in {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.True(Nodes[spare].Fetcher.SnapshotsInstalled >= 1, "the new member installed a chunk snapshot");
        return spare;
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
