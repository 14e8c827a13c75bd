using System.Diagnostics;
using Sds.Proto.V1;
using Sds.Storage.Client;
using Sds.Storage.Placement;
using Sds.Storage.Replication;

namespace Sds.Storage.Bench;

/// <summary>
/// 4 KiB random writes, then reads, through <c>Storage.Io</c> (StorageClient → gRPC on loopback → PG leader →
/// Raft with one synced RocksDB batch per cycle → file chunk store), with every node in this process:
/// replicas = 3 (three nodes) or 1 (one node). <see cref="BenchOptions.QueueDepths"/> requests in flight (32 by
/// default); each phase bounded in time.
/// </summary>
internal static class ClusterBench
{
    private const int PlacementGroups = 8;

    public static async Task RunAsync(BenchOptions options, string runDirectory, int replicas)
    {
        var peers = new Dictionary<ulong, string>();
        for (ulong id = 1; id <= (ulong)replicas; id++)
        {
            peers[id] = "127.0.0.1:1";
        }

        var placement = new StaticPlacementSource(peers, PlacementGroups, replicas);
        var nodes = new List<StorageNode>();
        try
        {
            foreach (ulong id in peers.Keys)
            {
                (StorageNode? node, string? error) = await StorageNode.StartAsync(new StorageNodeConfig
                {
                    NodeId = id,
                    DataDirectory = Path.Combine(runDirectory, $"io-r{replicas}-n{id}"),
                    Options = new StorageNodeOptions { NodeId = id, TickInterval = TimeSpan.FromMilliseconds(options.TickMs) },
                }, placement);
                if (node is null)
                {
                    Console.Error.WriteLine($"node {id}: {error}");
                    return;
                }

                nodes.Add(node);
            }

            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(30) &&
                   Enumerable.Range(0, PlacementGroups).Any(pg => !nodes.Any(n => n.Host.View((uint)pg) is { Role: Sds.Raft.RaftRole.Leader })))
            {
                await Task.Delay(20);
            }

            await using var client = new StorageClient(placement);
            var volume = Guid.NewGuid();
            foreach (int queueDepth in options.QueueDepths)
            {
                await PhaseAsync($"io r={replicas} write", options, client, volume, write: true, queueDepth);
                if (options.Reads)
                {
                    await PhaseAsync($"io r={replicas} read ", options, client, volume, write: false, queueDepth);
                }
            }

            Console.WriteLine($"  (transport drops reported: {string.Join(", ", nodes.Select(n => n.Host.UnreachableReports))}; synced commits: {string.Join(", ", nodes.Select(n => n.Host.SyncedCommits))})");
        }
        finally
        {
            foreach (StorageNode node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    private static async Task PhaseAsync(string name, BenchOptions options, StorageClient client, Guid volume, bool write, int queueDepth)
    {
        var recorder = new LatencyRecorder();
        var gate = new object();
        long errors = 0;
        var stop = Stopwatch.StartNew();
        TimeSpan phase = TimeSpan.FromSeconds(options.PhaseSeconds);
        int blocksPerChunk = Chunks.ChunkGeometry.DefaultChunkSizeBytes / 4096;
        await Task.WhenAll(Enumerable.Range(0, queueDepth).Select(async worker =>
        {
            var random = new Random(worker * 7919 + (write ? 1 : 2));
            byte[] buffer = new byte[4096];
            random.NextBytes(buffer);
            while (stop.Elapsed < phase)
            {
                ulong chunk = (ulong)random.Next(options.Chunks);
                ulong offset = (ulong)random.Next(blocksPerChunk) * 4096;
                long started = Stopwatch.GetTimestamp();
                IoStatus status = write
                    ? await client.WriteAsync(volume, chunk, offset, buffer)
                    : await client.ReadAsync(volume, chunk, offset, buffer);
                long elapsed = Stopwatch.GetTimestamp() - started;
                lock (gate)
                {
                    recorder.Record(elapsed);
                    if (status.Code != IoStatusCode.Ok)
                    {
                        errors++;
                    }
                }
            }
        }));

        double seconds = stop.Elapsed.TotalSeconds;
        (double mean, double p50, double p99) = LatencyRecorder.Summarize([recorder]);
        Console.WriteLine($"  {name}: {recorder.Count / seconds,9:F0} IOPS  mean {mean,7:F0} us  p50 {p50,7:F0} us  p99 {p99,7:F0} us  (QD{queueDepth}, {recorder.Count} ops, {errors} errors)");
    }
}
