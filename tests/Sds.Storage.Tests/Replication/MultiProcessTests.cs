using System.Globalization;
using Sds.Proto.V1;
using Sds.Rpc;
using Sds.Storage.Chunks;
using Sds.Storage.Client;
using Sds.Storage.Placement;
using Sds.Testing;

namespace Sds.Storage.Tests.Replication;

/// <summary>
/// Proves DESIGN.md §5.2 with real processes: three <c>sds storage</c> processes (replicas = 3); a writer with
/// verifiable content keeps writing while one node is killed with SIGKILL; then every node is killed with
/// SIGKILL and restarted; every acknowledged write must read back, through the leader and from every
/// replica's own store. Bounded: each phase has a deadline and every process is killed in the end.
/// </summary>
public sealed class MultiProcessTests
{
    // The writer helpers of ReplicationTests write this volume.
    private static readonly Guid Volume = ReplicationTests.Volume;
    private const int Pgs = 4;
    private const int Chunks = 8;

    [Fact]
    public async Task AcknowledgedWritesSurviveKillNineOfOneNodeAndThenOfAll()
    {
        using var directory = new TemporaryDirectory();
        int[] ports = [TestPorts.Free(), TestPorts.Free(), TestPorts.Free()];
        var peers = new Dictionary<ulong, string>();
        for (int i = 0; i < 3; i++)
        {
            peers[(ulong)(i + 1)] = $"127.0.0.1:{ports[i]}";
        }

        string peerList = string.Join(',', peers.Select(p => $"{p.Key}={p.Value}"));
        string Arguments(ulong id) => $"--id {id} --listen {peers[id]} --data {directory.Sub("n" + id)} --peers {peerList} --pgs {Pgs} --replicas 3 --tick-ms 50";
        var processes = new Dictionary<ulong, StorageProcess>();
        try
        {
            foreach (ulong id in peers.Keys)
            {
                processes[id] = await StorageProcess.StartAsync(Arguments(id));
            }

            var placement = new StaticPlacementSource(peers, Pgs, 3);
            var acknowledged = new Dictionary<(ulong, ulong), ulong>();
            await using (var client = new StorageClient(placement, new StorageClientOptions { RequestTimeout = TimeSpan.FromSeconds(30) }))
            {
                Merge(acknowledged, await ReplicationTests.WriteAsync(client, 1, 300, Chunks));
                Console.WriteLine($"multi-process: {acknowledged.Count} blocks acknowledged; kill -9 node 2");
                processes[2].KillHard();
                Merge(acknowledged, await ReplicationTests.WriteAsync(client, 10_000, 300, Chunks));
            }

            Console.WriteLine($"multi-process: {acknowledged.Count} blocks acknowledged; kill -9 all, restart");
            foreach (StorageProcess process in processes.Values)
            {
                process.KillHard();
            }

            foreach (ulong id in peers.Keys)
            {
                processes[id].Dispose();
                processes[id] = await StorageProcess.StartAsync(Arguments(id));
            }

            await using (var client = new StorageClient(placement, new StorageClientOptions { RequestTimeout = TimeSpan.FromSeconds(30) }))
            {
                await ReplicationTests.VerifyThroughClientAsync(client, acknowledged);
            }

            var failures = new List<string>();
            foreach ((ulong id, string address) in peers)
            {
                try
                {
                    await VerifyReplicaAsync(id, address, acknowledged);
                }
                catch (Xunit.Sdk.XunitException exception)
                {
                    failures.Add(exception.Message);
                }
            }

            Assert.True(failures.Count == 0, string.Join(" | ", failures));
        }
        finally
        {
            foreach (StorageProcess process in processes.Values)
            {
                process.Dispose();
            }
        }
    }

    /// <summary>Reads each acknowledged block from one node's own replica (replica_read) until it verifies, bounded.</summary>
    private static async Task VerifyReplicaAsync(ulong id, string address, Dictionary<(ulong Chunk, ulong Offset), ulong> acknowledged)
    {
        using GrpcChannel channel = GrpcChannel.ForAddress("http://" + address);
        var storage = new Proto.V1.Storage.StorageClient(channel);
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (((ulong chunk, ulong offset), ulong sequence) in acknowledged)
        {
            var target = new IoTarget { VolumeId = Volume.ToString(), ChunkIndex = chunk, PgId = PlacementMath.PgForChunk(Volume, chunk, Pgs) };
            long found = -2;
            while (DateTime.UtcNow < deadline)
            {
                ReadResponse read;
                try
                {
                    read = await storage.ReadAsync(new ReadRequest { Target = target, OffsetBytes = offset, LengthBytes = VerifiableBlock.SizeBytes, ReplicaRead = true }, deadline: DateTime.UtcNow.AddSeconds(5));
                }
                catch (Grpc.Core.RpcException)
                {
                    await Task.Delay(20);
                    continue;
                }

                if (read.Status.Code == IoStatusCode.Ok)
                {
                    found = VerifiableBlock.Verify(read.Data.Span, chunk, offset);
                    if (found >= (long)sequence)
                    {
                        break;
                    }
                }

                // A restarted replica may still be re-applying its log; wait for it.
                await Task.Delay(20);
            }

            Assert.True(found == (long)sequence, $"node {id}: block {chunk}/{offset} (pg {target.PgId}) has sequence {found}, acknowledged {sequence}, waited until {DateTime.UtcNow:HH:mm:ss.fff} deadline {deadline:HH:mm:ss.fff}");
        }
    }

    private static void Merge(Dictionary<(ulong, ulong), ulong> into, Dictionary<(ulong, ulong), ulong> more)
    {
        foreach (var pair in more)
        {
            into[pair.Key] = pair.Value;
        }
    }
}
