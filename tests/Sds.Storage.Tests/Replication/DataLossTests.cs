using System.Diagnostics;
using System.Globalization;
using Sds.Meta.Client;
using Sds.Proto.V1;
using Sds.Rpc;
using Sds.Storage.Client;
using Sds.Storage.Placement;

namespace Sds.Storage.Tests.Replication;

/// <summary>
/// Issue #6 acceptance, the data-loss test, with real processes on 127.0.0.1: 3 <c>sds meta</c> + 4
/// <c>sds storage --meta</c>, replicas = 3 (<see cref="MetaBackedCluster"/>). A writer keeps issuing overlapping
/// writes (1–4 blocks at random places in a small address space, so blocks are rewritten many times) whose every
/// block carries its sequence number, its address and a CRC32C, through <see cref="StorageClient"/> over
/// meta-backed placement. Then: kill -9 one storage node and wait (bounded) until meta has replaced it and every
/// PG's Raft configuration on all three live members is the new set — the copies rebuilt on the fourth node with no
/// manual step — and print the time to restore; kill -9 a second node; kill -9 both remaining nodes at once and
/// restart them, then restart the second one too. At the end every acknowledged write reads back from every
/// replica of its PG and the replicas are byte-identical. Also: <c>sds node drain</c> empties a node without a PG
/// ever going below 3 voters. Bounded: every wait has a deadline; every process is killed in the end.
/// </summary>
public sealed class DataLossTests
{
    private static readonly Guid Volume = Guid.Parse("0b6f3a52-7c1d-4e8f-9a2b-3c4d5e6f7a8b");
    private const int PgCount = MetaBackedCluster.PgCount;
    private const int Chunks = 12;
    private const int BlocksPerChunk = 48;
    private const int BlockBytes = VerifiableBlock.SizeBytes;

    [Fact]
    public async Task NoAcknowledgedWriteIsLostAndTheThirdCopyIsRestoredByItself()
    {
        await using MetaBackedCluster cluster = await MetaBackedCluster.StartAsync(storageCount: 4);
        Dictionary<int, StorageProcess> storage = cluster.Storage;
        var ledger = new WriteLedger();
        await using var client = new StorageClient(cluster.Placement, new StorageClientOptions { RequestTimeout = TimeSpan.FromSeconds(30) });
        using var writing = new CancellationTokenSource();
        Task writer = RunWriterAsync(client, ledger, writing.Token);
        await ledger.WaitForAcknowledgedAsync(200, TimeSpan.FromSeconds(60));

        // 1. kill -9 one storage node; meta marks it DOWN, then OUT, and places its copies on the fourth.
        int first = MostLoaded(cluster, [1, 2, 3, 4]);
        long killed = Stopwatch.GetTimestamp();
        storage[first].KillHard();
        int[] live = [.. storage.Keys.Where(id => id != first).Order()];
        await MetaBackedCluster.WaitUntilAsync(() => cluster.Settled(live), TimeSpan.FromSeconds(90), $"copies of storage-{first} rebuilt on the live nodes", cluster.Describe);
        TimeSpan restore = Stopwatch.GetElapsedTime(killed);
        Console.WriteLine($"data-loss: storage-{first} killed; third copy of every PG restored in {restore.TotalSeconds:F2} s (grace period 3 s included), {ledger.Acknowledged} writes acknowledged so far");
        await ledger.WaitForAcknowledgedAsync(ledger.Acknowledged + 200, TimeSpan.FromSeconds(60));

        // 2. kill -9 a second node: the PGs keep a quorum on the two others and writes go on.
        int second = live[0];
        storage[second].KillHard();
        live = [.. live.Where(id => id != second)];
        await ledger.WaitForAcknowledgedAsync(ledger.Acknowledged + 200, TimeSpan.FromSeconds(60));

        Console.WriteLine($"data-loss: storage-{second} killed; {ledger.Acknowledged} writes acknowledged, failed so far: {ledger.FailureSummary}");

        // 3. kill -9 every remaining node at once, restart them, and the second one too.
        await writing.CancelAsync();
        foreach (int id in live)
        {
            storage[id].KillHard();
        }

        await writer;
        Console.WriteLine($"data-loss: {ledger.Acknowledged} writes acknowledged ({ledger.Failed} not: {ledger.FailureSummary}; their blocks may hold either value); kill -9 storage-{string.Join(",storage-", live)} at once, restart them and storage-{second}");
        int[] survivors = [.. live.Append(second).Order()];
        await Task.WhenAll(survivors.Select(cluster.StartStorageAsync));
        await MetaBackedCluster.WaitUntilAsync(() => cluster.Settled(survivors), TimeSpan.FromSeconds(60), "PGs settled after the restart", cluster.Describe);
        await VerifyEveryReplicaAsync(cluster, survivors, ledger);
    }

    /// <summary>
    /// <c>sds node drain</c> empties a node without ever lowering a PG below 3 voters: data written before the
    /// drain reads back from the three other nodes afterwards, no PG keeps the drained node, and no member of any
    /// PG ever applied a configuration with fewer than 3 voters.
    /// </summary>
    [Fact]
    public async Task DrainEmptiesANodeWithoutGoingBelowTheReplicaCount()
    {
        await using MetaBackedCluster cluster = await MetaBackedCluster.StartAsync(storageCount: 4);
        var ledger = new WriteLedger();
        await using (var client = new StorageClient(cluster.Placement, new StorageClientOptions { RequestTimeout = TimeSpan.FromSeconds(30) }))
        {
            using var writing = new CancellationTokenSource();
            Task writer = RunWriterAsync(client, ledger, writing.Token);
            await ledger.WaitForAcknowledgedAsync(150, TimeSpan.FromSeconds(60));
            await writing.CancelAsync();
            await writer;
        }

        int drained = MostLoaded(cluster, [1, 2, 3, 4]);
        using (var meta = new MetaClient(cluster.MetaAddresses) { Timeout = TimeSpan.FromSeconds(20) })
        {
            var request = new DrainNodeRequest { NodeId = "storage-" + drained.ToString(CultureInfo.InvariantCulture) };
            Node node = await meta.ManagementAsync((c, h, d, t) => c.DrainNodeAsync(request, h, d, t));
            Assert.Equal(NodeState.Draining, node.State);
        }

        int[] others = [.. cluster.Storage.Keys.Where(id => id != drained).Order()];
        await MetaBackedCluster.WaitUntilAsync(() => cluster.Settled(others), TimeSpan.FromSeconds(90), $"storage-{drained} drained", cluster.Describe);
        ulong drainedMember = cluster.Member(drained);
        Assert.All(Enumerable.Range(0, PgCount), pg => Assert.False(cluster.Placement.GetAssignment((uint)pg).Contains(drainedMember)));
        foreach ((int id, StorageProcess process) in cluster.Storage)
        {
            ulong self = cluster.Member(id);
            foreach ((uint pg, ulong[] voters, ulong[] _) in process.MembershipHistory)
            {
                // A voter's own view; a new replica's empty view before it joined does not count.
                Assert.True(!voters.Contains(self) || voters.Length >= 3, $"storage-{id} applied pg {pg} with voters [{string.Join(',', voters)}]");
            }
        }

        await VerifyEveryReplicaAsync(cluster, others, ledger);

        // Emptied also on disk: the drained node deletes the chunk files of the PGs it left (bounded wait).
        int before = cluster.ChunkFileCount(drained);
        await MetaBackedCluster.WaitUntilAsync(() => cluster.ChunkFileCount(drained) == 0, TimeSpan.FromSeconds(60), $"storage-{drained} deleted its {before} chunk files", cluster.Describe);
        Assert.All(others, id => Assert.True(cluster.ChunkFileCount(id) > 0, $"storage-{id} keeps its chunks"));
        Console.WriteLine($"drain: storage-{drained} emptied ({before} chunk files deleted); {ledger.Acknowledged} writes verified on the 3 other nodes");
    }

    /// <summary>The node that is a member of the most PGs (its loss moves the most data).</summary>
    private static int MostLoaded(MetaBackedCluster cluster, int[] ids) =>
        ids.MaxBy(id => Enumerable.Range(0, PgCount).Count(pg => cluster.Placement.GetAssignment((uint)pg).Contains(cluster.Member(id))));

    /// <summary>
    /// Four workers write 1–4 blocks at random places of a small address space. A write locks its blocks, so two
    /// writes in flight never overlap and an acknowledged write is the newest acknowledged value of its blocks.
    /// </summary>
    private static async Task RunWriterAsync(StorageClient client, WriteLedger ledger, CancellationToken cancellationToken)
    {
        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            var random = new Random(674386 + worker);
            while (!cancellationToken.IsCancellationRequested)
            {
                ulong chunk = (ulong)random.Next(Chunks);
                int count = random.Next(1, 5);
                int firstBlock = random.Next(BlocksPerChunk - count + 1);
                if (!ledger.TryLock(chunk, firstBlock, count, out ulong sequence))
                {
                    await Task.Yield();
                    continue;
                }

                byte[] data = new byte[count * BlockBytes];
                for (int i = 0; i < count; i++)
                {
                    ulong offset = (ulong)(firstBlock + i) * BlockBytes;
                    VerifiableBlock.Create(sequence, chunk, offset).CopyTo(data, i * BlockBytes);
                }

                IoStatus status;
                try
                {
                    status = await client.WriteAsync(Volume, chunk, (ulong)firstBlock * BlockBytes, data, forceUnitAccess: false, CancellationToken.None);
                }
                catch (Exception exception) when (exception is Grpc.Core.RpcException or IOException)
                {
                    status = new IoStatus { Code = IoStatusCode.Busy, Message = exception.Message };
                }

                ledger.Complete(chunk, firstBlock, count, sequence, status.Code == IoStatusCode.Ok, status.Code.ToString());
            }
        }))).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads every written block from each replica's own store (replica_read) until it shows the acknowledged
    /// sequence (or a later unacknowledged one), bounded; then checks the replicas of each chunk are byte-identical.
    /// </summary>
    private static async Task VerifyEveryReplicaAsync(MetaBackedCluster cluster, int[] survivors, WriteLedger ledger)
    {
        MetaPlacementSource placement = cluster.Placement;
        var addresses = survivors.ToDictionary(id => id, id => placement.TryGetNodeAddress(cluster.Member(id), out string? a) ? a : throw new InvalidOperationException("address"));
        var channels = addresses.ToDictionary(pair => pair.Key, pair => GrpcChannel.ForAddress("http://" + pair.Value));
        try
        {
            int checkedBlocks = 0;
            for (ulong chunk = 0; chunk < Chunks; chunk++)
            {
                uint pg = PlacementMath.PgForChunk(Volume, chunk, PgCount);
                PlacementGroupAssignment assignment = placement.GetAssignment(pg);
                Assert.Equal(3, assignment.Voters.Length);
                // Every copy must verify against the ledger; then all copies must be byte-identical. A replica may
                // still be applying a write whose acknowledgement was lost (it committed after all), so a difference
                // is re-read until the copies converge, bounded.
                int[] replicas = [.. survivors.Where(id => assignment.Voters.Contains(cluster.Member(id)))];
                Assert.Equal(3, replicas.Length);
                DateTime deadline = DateTime.UtcNow.AddSeconds(30);
                string difference;
                do
                {
                    difference = string.Empty;
                    byte[]? reference = null;
                    foreach (int id in replicas)
                    {
                        byte[] copy = await ReadVerifiedChunkAsync(new Proto.V1.Storage.StorageClient(channels[id]), id, chunk, pg, ledger);
                        reference ??= copy;
                        int same = reference.AsSpan().CommonPrefixLength(copy);
                        if (same != copy.Length)
                        {
                            difference = $"chunk {chunk} (pg {pg}): storage-{id} differs from storage-{replicas[0]} at byte {same}";
                            break;
                        }
                    }

                    if (difference.Length > 0)
                    {
                        await Task.Delay(200);
                    }
                }
                while (difference.Length > 0 && DateTime.UtcNow < deadline);

                Assert.True(difference.Length == 0, difference);
                checkedBlocks += BlocksPerChunk;
            }

            Console.WriteLine($"data-loss: {ledger.Acknowledged} acknowledged writes verified on 3 replicas each; {checkedBlocks} blocks byte-identical across replicas");
        }
        finally
        {
            foreach (GrpcChannel channel in channels.Values)
            {
                channel.Dispose();
            }
        }
    }

    /// <summary>The written range of one chunk from one replica, once every block verifies against the ledger (bounded wait: a restarted replica may still be catching up).</summary>
    private static async Task<byte[]> ReadVerifiedChunkAsync(Proto.V1.Storage.StorageClient replica, int id, ulong chunk, uint pg, WriteLedger ledger)
    {
        var target = new IoTarget { VolumeId = Volume.ToString(), ChunkIndex = chunk, PgId = pg };
        DateTime deadline = DateTime.UtcNow.AddSeconds(45);
        string problem = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                ReadResponse read = await replica.ReadAsync(new ReadRequest { Target = target, OffsetBytes = 0, LengthBytes = BlocksPerChunk * BlockBytes, ReplicaRead = true }, deadline: DateTime.UtcNow.AddSeconds(5));
                if (read.Status.Code == IoStatusCode.Ok)
                {
                    byte[] data = read.Data.ToByteArray();
                    problem = ledger.Check(chunk, data);
                    if (problem.Length == 0)
                    {
                        return data;
                    }
                }
                else
                {
                    problem = read.Status.ToString();
                }
            }
            catch (Grpc.Core.RpcException exception)
            {
                problem = exception.Status.ToString();
            }

            await Task.Delay(100);
        }

        Assert.Fail($"storage-{id} chunk {chunk} (pg {pg}): {problem}");
        return [];
    }

    /// <summary>
    /// What the writer knows about every block: the newest acknowledged sequence, and later sequences whose write
    /// failed (they may or may not have been applied). Blocks being written are locked.
    /// </summary>
    private sealed class WriteLedger
    {
        private readonly object gate = new();
        private readonly ulong[,] acknowledged = new ulong[Chunks, BlocksPerChunk];
        private readonly HashSet<ulong>[,] uncertain = new HashSet<ulong>[Chunks, BlocksPerChunk];
        private readonly bool[,] locked = new bool[Chunks, BlocksPerChunk];
        private readonly Dictionary<string, int> failures = [];
        private ulong nextSequence = 1;

        public int Acknowledged { get; private set; }

        public int Failed { get; private set; }

        public bool TryLock(ulong chunk, int firstBlock, int count, out ulong sequence)
        {
            lock (gate)
            {
                sequence = 0;
                for (int b = firstBlock; b < firstBlock + count; b++)
                {
                    if (locked[chunk, b])
                    {
                        return false;
                    }
                }

                for (int b = firstBlock; b < firstBlock + count; b++)
                {
                    locked[chunk, b] = true;
                }

                sequence = nextSequence++;
                return true;
            }
        }

        /// <summary>How many writes failed, by status code.</summary>
        public string FailureSummary
        {
            get
            {
                lock (gate)
                {
                    return failures.Count == 0 ? "none" : string.Join(", ", failures.Select(pair => $"{pair.Key} x{pair.Value}"));
                }
            }
        }

        public void Complete(ulong chunk, int firstBlock, int count, ulong sequence, bool ok, string status)
        {
            lock (gate)
            {
                if (!ok)
                {
                    failures[status] = failures.GetValueOrDefault(status) + 1;
                }

                for (int b = firstBlock; b < firstBlock + count; b++)
                {
                    locked[chunk, b] = false;
                    if (ok)
                    {
                        acknowledged[chunk, b] = sequence;
                        uncertain[chunk, b]?.Clear();
                    }
                    else
                    {
                        (uncertain[chunk, b] ??= []).Add(sequence);
                    }
                }

                if (ok)
                {
                    Acknowledged++;
                }
                else
                {
                    Failed++;
                }
            }
        }

        public async Task WaitForAcknowledgedAsync(int count, TimeSpan bound)
        {
            var clock = Stopwatch.StartNew();
            while (Acknowledged < count)
            {
                Assert.True(clock.Elapsed < bound, $"only {Acknowledged} of {count} writes acknowledged within {bound.TotalSeconds} s");
                await Task.Delay(20);
            }
        }

        /// <summary>Empty when every block of <paramref name="data"/> (blocks 0.. of the chunk) is intact and holds an allowed sequence.</summary>
        public string Check(ulong chunk, byte[] data)
        {
            lock (gate)
            {
                for (int b = 0; b < BlocksPerChunk; b++)
                {
                    ulong offset = (ulong)b * BlockBytes;
                    long found;
                    try
                    {
                        found = VerifiableBlock.Verify(data.AsSpan(b * BlockBytes, BlockBytes), chunk, offset);
                    }
                    catch (Xunit.Sdk.XunitException)
                    {
                        return $"block {b} is damaged";
                    }

                    ulong expected = acknowledged[chunk, b];
                    bool allowed = expected == 0
                        ? found == -1 || uncertain[chunk, b]?.Contains((ulong)found) == true
                        : found == (long)expected || found > (long)expected && uncertain[chunk, b]?.Contains((ulong)found) == true;
                    if (!allowed)
                    {
                        return $"block {b} holds sequence {found}, acknowledged {expected}";
                    }
                }

                return string.Empty;
            }
        }
    }
}
