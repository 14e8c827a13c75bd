using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Sds.Meta.Client;
using Sds.Proto.V1;
using Sds.Rpc;
using Sds.Storage.Client;
using Sds.Storage.Placement;

namespace Sds.Storage.Tests.Replication;

/// <summary>
/// Issue #6 acceptance, the data-loss test, with real processes on 127.0.0.1: 3 <c>sds meta</c> + 4
/// <c>sds storage --meta</c>, replicas = 3. A writer keeps issuing overlapping writes (1–4 blocks at random
/// places in a small address space, so blocks are rewritten many times) whose every block carries its sequence
/// number, its address and a CRC32C, through <see cref="StorageClient"/> over meta-backed placement. Then:
/// kill -9 one storage node and wait (bounded) until meta has replaced it and every PG's Raft configuration on
/// all three live members is the new set — the copies rebuilt on the fourth node with no manual step — and print
/// the time to restore; kill -9 a second node; kill -9 both remaining nodes at once and restart them, then
/// restart the second one too. At the end every acknowledged write reads back from every replica of its PG and
/// the replicas are byte-identical. Bounded: every wait has a deadline; every process is killed in the end.
/// </summary>
public sealed class DataLossTests
{
    private static readonly Guid Volume = Guid.Parse("0b6f3a52-7c1d-4e8f-9a2b-3c4d5e6f7a8b");
    private const int PgCount = 8;
    private const int Chunks = 12;
    private const int BlocksPerChunk = 48;
    private const int BlockBytes = VerifiableBlock.SizeBytes;

    [Fact]
    public async Task NoAcknowledgedWriteIsLostAndTheThirdCopyIsRestoredByItself()
    {
        using var directory = new TemporaryDirectory();
        var processes = new List<StorageProcess>();
        var storage = new Dictionary<int, StorageProcess>();
        int[] metaPorts = [FreePort(), FreePort(), FreePort()];
        int[] storagePorts = [FreePort(), FreePort(), FreePort(), FreePort()];
        string metaPeers = string.Join(',', metaPorts.Select((port, i) => $"{i + 1}=127.0.0.1:{port}"));
        string metaList = string.Join(',', metaPorts.Select(port => $"127.0.0.1:{port}"));
        string StorageArguments(int id) =>
            $"--id {id} --listen 127.0.0.1:{storagePorts[id - 1]} --data {directory.Sub("s" + id)} --meta {metaList} --tick-ms 50";
        // SDS_TEST_LOG_DIR keeps every process's output (with a Raft status line per PG every second) for a post-mortem.
        string? logDirectory = Environment.GetEnvironmentVariable("SDS_TEST_LOG_DIR");
        string? LogPath(string name) => logDirectory is null ? null : Path.Combine(logDirectory, name + ".log");
        try
        {
            // Grace period: a silent storage node is DOWN after 1 s and OUT (replaced) after 3 s.
            for (int i = 1; i <= 3; i++)
            {
                processes.Add(await StorageProcess.StartAsync("meta",
                    $"--id {i} --peers {metaPeers} --data {directory.Sub("m" + i)} --tick-ms 50 --replicas 3 --pg-count {PgCount} --node-down-ms 1000 --node-out-ms 3000",
                    "ready on", LogPath("meta" + i)));
            }

            Task<StorageProcess>[] starting = [.. Enumerable.Range(1, 4).Select(id => StorageProcess.StartAsync("storage", StorageArguments(id), "serving on", LogPath("storage" + id)))];
            for (int id = 1; id <= 4; id++)
            {
                storage[id] = await starting[id - 1];
                processes.Add(storage[id]);
            }

            await using ClusterMapMirror mirror = ClusterMapMirror.Remote(metaList.Split(','), "test-writer");
            var placement = new MetaPlacementSource();
            mirror.Changed += map => placement.Apply(map);
            mirror.Start();
            await WaitUntilAsync(() => Settled(placement, storage, [1, 2, 3, 4]), TimeSpan.FromSeconds(60), "every PG placed on 3 nodes and its Raft configuration applied", () => Describe(placement, storage));

            var ledger = new WriteLedger();
            await using var client = new StorageClient(placement, new StorageClientOptions { RequestTimeout = TimeSpan.FromSeconds(30) });
            using var writing = new CancellationTokenSource();
            Task writer = RunWriterAsync(client, ledger, writing.Token);
            await ledger.WaitForAcknowledgedAsync(200, TimeSpan.FromSeconds(60));

            // 1. kill -9 one storage node; meta marks it DOWN, then OUT, and places its copies on the fourth.
            int first = MostLoaded(placement, [1, 2, 3, 4]);
            long killed = Stopwatch.GetTimestamp();
            storage[first].KillHard();
            int[] live = [.. storage.Keys.Where(id => id != first)];
            await WaitUntilAsync(() => Settled(placement, storage, live), TimeSpan.FromSeconds(90), $"copies of storage-{first} rebuilt on the live nodes", () => Describe(placement, storage));
            TimeSpan restore = Stopwatch.GetElapsedTime(killed);
            Console.WriteLine($"data-loss: storage-{first} killed; third copy of every PG restored in {restore.TotalSeconds:F2} s (grace period 3 s included), {ledger.Acknowledged} writes acknowledged so far");
            int acknowledgedBefore = ledger.Acknowledged;
            await ledger.WaitForAcknowledgedAsync(acknowledgedBefore + 200, TimeSpan.FromSeconds(60));

            // 2. kill -9 a second node: the PGs keep a quorum on the two others and writes go on.
            int second = live[0];
            storage[second].KillHard();
            live = [.. live.Where(id => id != second)];
            acknowledgedBefore = ledger.Acknowledged;
            await ledger.WaitForAcknowledgedAsync(acknowledgedBefore + 200, TimeSpan.FromSeconds(60));

            // 3. kill -9 every remaining node at once, restart them, and the second one too.
            await writing.CancelAsync();
            foreach (int id in live)
            {
                storage[id].KillHard();
            }

            await writer;
            Console.WriteLine($"data-loss: {ledger.Acknowledged} writes acknowledged ({ledger.Failed} not, their blocks may hold either value); kill -9 storage-{string.Join(",storage-", live)} at once, restart them and storage-{second}");
            foreach (int id in live.Append(second))
            {
                storage[id] = await StorageProcess.StartAsync("storage", StorageArguments(id), "serving on", LogPath("storage" + id));
                processes.Add(storage[id]);
            }

            int[] survivors = [.. live.Append(second).Order()];
            await WaitUntilAsync(() => Settled(placement, storage, survivors), TimeSpan.FromSeconds(60), "PGs settled after the restart", () => Describe(placement, storage));
            await VerifyEveryReplicaAsync(placement, storage, survivors, ledger);
        }
        finally
        {
            foreach (StorageProcess process in processes)
            {
                process.Dispose();
            }
        }
    }

    /// <summary>
    /// Every PG is placed on three of <paramref name="live"/> (by meta), and each of those members has applied a
    /// Raft configuration of exactly those three voters with no learner.
    /// </summary>
    private static bool Settled(MetaPlacementSource placement, Dictionary<int, StorageProcess> storage, int[] live)
    {
        if (placement.PlacementGroupCount != PgCount)
        {
            return false;
        }

        var liveMembers = new Dictionary<ulong, int>();
        foreach (int id in live)
        {
            if (!placement.TryGetMemberId("storage-" + id.ToString(CultureInfo.InvariantCulture), out ulong member))
            {
                return false;
            }

            liveMembers[member] = id;
        }

        for (uint pg = 0; pg < PgCount; pg++)
        {
            PlacementGroupAssignment assignment = placement.GetAssignment(pg);
            if (assignment.Voters.Length != 3 || assignment.Learners.Length != 0 || !assignment.Voters.All(liveMembers.ContainsKey))
            {
                return false;
            }

            ulong[] expected = [.. assignment.Voters.Order()];
            foreach (ulong member in assignment.Voters)
            {
                if (!storage[liveMembers[member]].Memberships.TryGetValue(pg, out (ulong[] Voters, ulong[] Learners) applied) ||
                    !applied.Voters.SequenceEqual(expected) || applied.Learners.Length != 0)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Meta's assignment and each node's applied configuration per PG, for a failure message.</summary>
    private static string Describe(MetaPlacementSource placement, Dictionary<int, StorageProcess> storage)
    {
        var text = new System.Text.StringBuilder($"map v{placement.Version}; members:");
        foreach ((int id, StorageProcess process) in storage)
        {
            text.Append(CultureInfo.InvariantCulture, $" storage-{id}={Member(placement, id)}{(process.IsRunning ? "" : "(dead)")}");
        }

        for (uint pg = 0; pg < placement.PlacementGroupCount; pg++)
        {
            PlacementGroupAssignment a = placement.GetAssignment(pg);
            text.Append(CultureInfo.InvariantCulture, $" | pg {pg} e{a.Epoch} meta [{string.Join(',', a.Voters)}]/[{string.Join(',', a.Learners)}]");
            foreach ((int id, StorageProcess process) in storage)
            {
                if (process.Memberships.TryGetValue(pg, out (ulong[] Voters, ulong[] Learners) applied))
                {
                    text.Append(CultureInfo.InvariantCulture, $" s{id}:[{string.Join(',', applied.Voters)}]/[{string.Join(',', applied.Learners)}]");
                }
            }
        }

        return text.ToString();
    }

    /// <summary>The node that is a member of the most PGs (its loss moves the most data).</summary>
    private static int MostLoaded(MetaPlacementSource placement, int[] ids) =>
        ids.MaxBy(id => placement.TryGetMemberId("storage-" + id, out ulong member)
            ? Enumerable.Range(0, PgCount).Count(pg => placement.GetAssignment((uint)pg).Contains(member))
            : 0);

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

                ledger.Complete(chunk, firstBlock, count, sequence, status.Code == IoStatusCode.Ok);
            }
        }))).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads every written block from each replica's own store (replica_read) until it shows the acknowledged
    /// sequence (or a later unacknowledged one), bounded; then checks the replicas of each chunk are byte-identical.
    /// </summary>
    private static async Task VerifyEveryReplicaAsync(MetaPlacementSource placement, Dictionary<int, StorageProcess> storage, int[] survivors, WriteLedger ledger)
    {
        var addresses = survivors.ToDictionary(id => id, id => placement.TryGetNodeAddress(Member(placement, id), out string? a) ? a : throw new InvalidOperationException("address"));
        var channels = addresses.ToDictionary(pair => pair.Key, pair => GrpcChannel.ForAddress("http://" + pair.Value));
        try
        {
            int checkedBlocks = 0;
            for (ulong chunk = 0; chunk < Chunks; chunk++)
            {
                uint pg = PlacementMath.PgForChunk(Volume, chunk, PgCount);
                PlacementGroupAssignment assignment = placement.GetAssignment(pg);
                Assert.Equal(3, assignment.Voters.Length);
                byte[]? reference = null;
                int referenceNode = 0;
                foreach (int id in survivors.Where(id => assignment.Voters.Contains(Member(placement, id))))
                {
                    byte[] copy = await ReadVerifiedChunkAsync(new Proto.V1.Storage.StorageClient(channels[id]), id, chunk, pg, ledger);
                    if (reference is null)
                    {
                        (reference, referenceNode) = (copy, id);
                        continue;
                    }

                    int differs = reference.AsSpan().CommonPrefixLength(copy);
                    Assert.True(differs == copy.Length, $"chunk {chunk} (pg {pg}): storage-{id} differs from storage-{referenceNode} at byte {differs}");
                }

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

    private static ulong Member(MetaPlacementSource placement, int id) =>
        placement.TryGetMemberId("storage-" + id.ToString(CultureInfo.InvariantCulture), out ulong member) ? member : 0;

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan bound, string what, Func<string>? describe = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < bound, $"not reached within {bound.TotalSeconds} s: {what}. {describe?.Invoke()}");
            await Task.Delay(50);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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

        public void Complete(ulong chunk, int firstBlock, int count, ulong sequence, bool ok)
        {
            lock (gate)
            {
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
