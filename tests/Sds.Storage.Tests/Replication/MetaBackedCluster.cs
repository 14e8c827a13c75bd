using System.Globalization;
using Sds.Meta.Client;
using Sds.Storage.Placement;
using Sds.Testing;

namespace Sds.Storage.Tests.Replication;

/// <summary>
/// Real processes on 127.0.0.1: three <c>sds meta</c> members (replicas 3, a short grace period: DOWN after 1 s of
/// silence, OUT after 3 s) and storage nodes run with <c>sds storage --meta</c>, plus a test-side
/// <see cref="MetaPlacementSource"/> fed by a <see cref="ClusterMapMirror"/>. Every port is picked free; every
/// process is killed on dispose. <c>SDS_TEST_LOG_DIR</c> keeps each process's output (with a Raft status line per PG
/// every second) for a post-mortem.
/// </summary>
internal sealed class MetaBackedCluster : IAsyncDisposable
{
    public const int PgCount = 8;

    private readonly TemporaryDirectory directory = new();
    private readonly List<StorageProcess> processes = [];
    private readonly int[] storagePorts;
    private readonly string? logDirectory = Environment.GetEnvironmentVariable("SDS_TEST_LOG_DIR");
    private ClusterMapMirror? mirror;

    private MetaBackedCluster(int storageCount)
    {
        storagePorts = [.. Enumerable.Range(0, storageCount).Select(_ => TestPorts.Free())];
        int[] metaPorts = [TestPorts.Free(), TestPorts.Free(), TestPorts.Free()];
        MetaPeers = string.Join(',', metaPorts.Select((port, i) => $"{i + 1}=127.0.0.1:{port}"));
        MetaAddresses = [.. metaPorts.Select(port => $"127.0.0.1:{port}")];
    }

    public string MetaPeers { get; }

    public string[] MetaAddresses { get; }

    /// <summary>The current process of each storage node, by its <c>--id</c>.</summary>
    public Dictionary<int, StorageProcess> Storage { get; } = [];

    /// <summary>Placement as the test's mirror of meta's map sees it.</summary>
    public MetaPlacementSource Placement { get; } = new();

    /// <summary>Starts 3 meta members and <paramref name="storageCount"/> storage nodes, and waits until every PG is placed and settled.</summary>
    public static async Task<MetaBackedCluster> StartAsync(int storageCount)
    {
        var cluster = new MetaBackedCluster(storageCount);
        try
        {
            for (int i = 1; i <= 3; i++)
            {
                cluster.processes.Add(await StorageProcess.StartAsync("meta",
                    $"--id {i} --peers {cluster.MetaPeers} --data {cluster.directory.Sub("m" + i)} --tick-ms 50 --replicas 3 --pg-count {PgCount} --node-down-ms 1000 --node-out-ms 3000",
                    "ready on", cluster.LogPath("meta" + i)));
            }

            await Task.WhenAll(Enumerable.Range(1, storageCount).Select(cluster.StartStorageAsync));
            cluster.mirror = ClusterMapMirror.Remote(cluster.MetaAddresses, "test-client");
            cluster.mirror.Changed += map => cluster.Placement.Apply(map);
            cluster.mirror.Start();
            await WaitUntilAsync(() => cluster.Settled([.. Enumerable.Range(1, storageCount)]), TimeSpan.FromSeconds(60), "every PG placed on 3 nodes and its Raft configuration applied", cluster.Describe);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Chunk files (file store) in storage node <paramref name="id"/>'s data directory.</summary>
    public int ChunkFileCount(int id)
    {
        string chunks = System.IO.Path.Combine(directory.Sub("s" + id), "chunks");
        return Directory.Exists(chunks) ? Directory.GetFiles(chunks, "*.chunk", SearchOption.AllDirectories).Length : 0;
    }

    /// <summary>Starts (or restarts, on the same data directory and port) storage node <paramref name="id"/>.</summary>
    public async Task StartStorageAsync(int id)
    {
        StorageProcess process = await StorageProcess.StartAsync("storage",
            $"--id {id} --listen 127.0.0.1:{storagePorts[id - 1]} --data {directory.Sub("s" + id)} --meta {string.Join(',', MetaAddresses)} --tick-ms 50",
            "serving on", LogPath("storage" + id));
        lock (processes)
        {
            processes.Add(process);
            Storage[id] = process;
        }
    }

    /// <summary>The Raft member id meta gave storage node <paramref name="id"/> (0 when not in the map yet).</summary>
    public ulong Member(int id) => Placement.TryGetMemberId("storage-" + id.ToString(CultureInfo.InvariantCulture), out ulong member) ? member : 0;

    /// <summary>
    /// Every PG is placed on three of <paramref name="live"/> (by meta), and each of those members has applied a
    /// Raft configuration of exactly those three voters with no learner.
    /// </summary>
    public bool Settled(int[] live)
    {
        if (Placement.PlacementGroupCount != PgCount)
        {
            return false;
        }

        var liveMembers = new Dictionary<ulong, int>();
        foreach (int id in live)
        {
            if (Member(id) == 0)
            {
                return false;
            }

            liveMembers[Member(id)] = id;
        }

        for (uint pg = 0; pg < PgCount; pg++)
        {
            PlacementGroupAssignment assignment = Placement.GetAssignment(pg);
            if (assignment.Voters.Length != 3 || assignment.Learners.Length != 0 || !assignment.Voters.All(liveMembers.ContainsKey))
            {
                return false;
            }

            ulong[] expected = [.. assignment.Voters.Order()];
            foreach (ulong member in assignment.Voters)
            {
                if (!Storage[liveMembers[member]].Memberships.TryGetValue(pg, out (ulong[] Voters, ulong[] Learners) applied) ||
                    !applied.Voters.SequenceEqual(expected) || applied.Learners.Length != 0)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Meta's assignment and each node's applied configuration per PG, for a failure message.</summary>
    public string Describe()
    {
        var text = new System.Text.StringBuilder($"map v{Placement.Version}; members:");
        foreach ((int id, StorageProcess process) in Storage)
        {
            text.Append(CultureInfo.InvariantCulture, $" storage-{id}={Member(id)}{(process.IsRunning ? "" : "(dead)")}");
        }

        for (uint pg = 0; pg < Placement.PlacementGroupCount; pg++)
        {
            PlacementGroupAssignment a = Placement.GetAssignment(pg);
            text.Append(CultureInfo.InvariantCulture, $" | pg {pg} e{a.Epoch} meta [{string.Join(',', a.Voters)}]/[{string.Join(',', a.Learners)}]");
            foreach ((int id, StorageProcess process) in Storage)
            {
                if (process.Memberships.TryGetValue(pg, out (ulong[] Voters, ulong[] Learners) applied))
                {
                    text.Append(CultureInfo.InvariantCulture, $" s{id}:[{string.Join(',', applied.Voters)}]/[{string.Join(',', applied.Learners)}]");
                }
            }
        }

        return text.ToString();
    }

    /// <summary>Polls <paramref name="condition"/> every 50 ms; fails with <paramref name="describe"/> after <paramref name="bound"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan bound, string what, Func<string>? describe = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < bound, $"not reached within {bound.TotalSeconds} s: {what}. {describe?.Invoke()}");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (mirror is not null)
        {
            await mirror.DisposeAsync();
        }

        foreach (StorageProcess process in processes)
        {
            process.Dispose();
        }

        directory.Dispose();
    }

    private string? LogPath(string name) => logDirectory is null ? null : Path.Combine(logDirectory, name + ".log");

}
