using System.Diagnostics;
using Sds.Gateway.Block;

namespace Sds.Conformance.Tests.Cluster;

/// <summary>
/// Faults under the cluster block device, each on its own three real storage processes: the leader of the PGs a
/// writer uses is killed with SIGKILL mid-run and every write still succeeds (the client retries on the new
/// leader) and reads back; a chain of COMPARE AND WRITEs (each comparing the previous one's data) runs across a
/// leader kill and every one reports GOOD, which fails if a retried CAW whose first attempt committed were
/// reported as MISCOMPARE; every node stopped with SIGSTOP holds a write, and cancelling the command (ABORT
/// TASK) returns Cancelled within a deadline instead of waiting for the 30 s request budget.
/// </summary>
public sealed class ClusterBlockDeviceFaultTests
{
    private const int Block = 4096;
    private const long Chunk = ClusterBlockDevice.ChunkSizeBytesDefault;

    [Fact]
    public async Task WritesSucceedAcrossALeaderKilledMidRun()
    {
        var cluster = new StorageCluster();
        await cluster.InitializeAsync();
        try
        {
            var volume = Guid.NewGuid();
            using var device = new ClusterBlockDevice(cluster.Client, volume, 16 * Chunk, Block);
            var written = new Dictionary<long, byte[]>();
            // Warm up: every chunk written once, so the client knows each PG's leader.
            for (int chunk = 0; chunk < 16; chunk++) await WriteOneAsync(device, written, chunk * Chunk + Block, chunk);
            ulong victim = cluster.Client.CachedLeader(cluster.Client.PgFor(volume, 0));
            Assert.NotEqual(0UL, victim);
            var stopwatch = Stopwatch.StartNew();
            // The leader dies once the writes are under way (after 20, not after a fixed delay: on a quiet machine
            // 120 writes finish within 300 ms), and 100 more follow the kill, so every PG is written across it.
            int done = 0;
            int doneAtKill = -1;
            Task writer = Task.Run(async () =>
            {
                // Each write spans a chunk boundary, so two PGs are involved in every command.
                for (int i = 0; Volatile.Read(ref doneAtKill) < 0 || i < Volatile.Read(ref doneAtKill) + 100; i++)
                {
                    long offset = (i % 15 + 1) * Chunk - Block;
                    byte[] data = ClusterBlockDeviceTests.Pattern(2 * Block, 1000 + i);
                    BlockResult result = await device.WriteAsync(offset, data, false, default);
                    Assert.True(result == BlockResult.Ok, $"write {i} at {offset}: {result}");
                    lock (written)
                    {
                        written[offset] = data[..Block];
                        written[offset + Block] = data[Block..];
                    }

                    Interlocked.Increment(ref done);
                }
            });
            while (Volatile.Read(ref done) < 20 && !writer.IsCompleted) await Task.Delay(5);
            if (writer.IsFaulted) await writer;
            cluster.Nodes[victim].KillHard();
            Volatile.Write(ref doneAtKill, Volatile.Read(ref done));
            Console.WriteLine($"cluster device: killed leader storage-{victim} at {stopwatch.ElapsedMilliseconds} ms, after write {doneAtKill}");
            await writer.WaitAsync(TimeSpan.FromMinutes(3));
            Console.WriteLine($"cluster device: {done} writes done in {stopwatch.ElapsedMilliseconds} ms with one leader killed");
            Assert.NotEqual(victim, cluster.Client.CachedLeader(cluster.Client.PgFor(volume, 0)));
            foreach ((long offset, byte[] expected) in written)
            {
                byte[] back = new byte[Block];
                Assert.Equal(BlockResult.Ok, await device.ReadAsync(offset, back, default));
                Assert.True(back.AsSpan().SequenceEqual(expected), $"block at {offset} reads back");
            }
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task ACompareAndWriteChainSurvivesALeaderKilledMidRun()
    {
        var cluster = new StorageCluster();
        await cluster.InitializeAsync();
        try
        {
            var volume = Guid.NewGuid();
            using var device = new ClusterBlockDevice(cluster.Client, volume, 16 * Chunk, Block);
            long offset = 3 * Chunk + 8 * Block;
            byte[] previous = new byte[Block];
            Assert.Equal(BlockResult.Ok, await device.WriteAsync(offset, previous, false, default));
            ulong victim = cluster.Client.CachedLeader(cluster.Client.PgFor(volume, 3));
            Assert.NotEqual(0UL, victim);
            // The leader dies once the chain is under way (not after a fixed delay: on a fast
            // machine 150 CAWs finish in well under 300 ms), and the chain goes on for at least
            // 100 CAWs after the kill, so the failover happens mid-chain on any machine.
            int done = 0;
            int doneAtKill = -1;
            Task<byte[]> chain = Task.Run(async () =>
            {
                byte[] current = previous;
                for (int i = 0; Volatile.Read(ref doneAtKill) < 0 || i < Volatile.Read(ref doneAtKill) + 100; i++)
                {
                    byte[] next = ClusterBlockDeviceTests.Pattern(Block, 5000 + i);
                    CompareAndWriteResult result = await device.CompareAndWriteAsync(offset, current, next, false, default);
                    Assert.True(result.Result == BlockResult.Ok, $"CAW {i}: {result.Result} at {result.MiscompareOffsetBytes}");
                    current = next;
                    Interlocked.Increment(ref done);
                }

                return current;
            });
            while (Volatile.Read(ref done) < 20 && !chain.IsCompleted) await Task.Delay(5);
            if (chain.IsFaulted) await chain;
            cluster.Nodes[victim].KillHard();
            Volatile.Write(ref doneAtKill, Volatile.Read(ref done));
            byte[] last = await chain.WaitAsync(TimeSpan.FromMinutes(3));
            byte[] back = new byte[Block];
            Assert.Equal(BlockResult.Ok, await device.ReadAsync(offset, back, default));
            Assert.True(back.AsSpan().SequenceEqual(last), "the last CAW's data is in place");
            Console.WriteLine($"cluster device: {done} chained CAWs GOOD across the kill of leader storage-{victim} (after CAW {doneAtKill})");
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task CancellingAWriteHeldByAStoppedLeaderReturnsPromptly()
    {
        var cluster = new StorageCluster();
        await cluster.InitializeAsync();
        try
        {
            var volume = Guid.NewGuid();
            using var device = new ClusterBlockDevice(cluster.Client, volume, 16 * Chunk, Block);
            Assert.Equal(BlockResult.Ok, await device.WriteAsync(0, new byte[Block], false, default));
            // Every node is stopped (the leader and the followers that would elect a new one), so nothing but the
            // abort can end the write before its 30 s budget: the test does not depend on election timing.
            foreach (ClusterProcess node in cluster.Nodes.Values) node.Pause();
            try
            {
                using var abort = new CancellationTokenSource();
                ValueTask<BlockResult> pending = device.WriteAsync(0, ClusterBlockDeviceTests.Pattern(Block, 5), false, abort.Token);
                await Task.Delay(500);
                Assert.False(pending.IsCompleted, "the stopped nodes hold the write (30 s budget)");
                var stopwatch = Stopwatch.StartNew();
                abort.Cancel();
                BlockResult result = await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                Console.WriteLine($"cluster device: cancelled write returned {stopwatch.ElapsedMilliseconds} ms after the abort");
                Assert.Equal(BlockResult.Cancelled, result);
            }
            finally
            {
                foreach (ClusterProcess node in cluster.Nodes.Values) node.Resume();
            }
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    /// <summary>
    /// Issue #7, bounded aborts under HTTP/2 flow control: with every storage node stopped, many large writes fill
    /// the streams (window, socket buffers, the 1 MiB write pump), so later ones wait inside the stream write itself
    /// for space that never comes. Aborting them must still answer promptly: the wait for space is cancellable and a
    /// stream that could not take one message before the abort is reset (its other requests are retried).
    /// </summary>
    [Fact]
    public async Task CancellingWritesQueuedBehindFullStreamsReturnsPromptly()
    {
        var cluster = new StorageCluster();
        await cluster.InitializeAsync();
        try
        {
            var volume = Guid.NewGuid();
            const int Writes = 24;
            using var device = new ClusterBlockDevice(cluster.Client, volume, Writes * Chunk, Block);
            Assert.Equal(BlockResult.Ok, await device.WriteAsync(0, new byte[Block], false, default));
            foreach (ClusterProcess node in cluster.Nodes.Values) node.Pause();
            try
            {
                using var abort = new CancellationTokenSource();
                byte[] data = ClusterBlockDeviceTests.Pattern((int)Chunk, 9);
                ValueTask<BlockResult>[] pending = [.. Enumerable.Range(0, Writes).Select(i => device.WriteAsync(i * Chunk, data, false, abort.Token))];
                await Task.Delay(1500);
                Assert.DoesNotContain(pending, static write => write.IsCompleted);
                var stopwatch = Stopwatch.StartNew();
                abort.Cancel();
                BlockResult[] results = await Task.WhenAll(pending.Select(static write => write.AsTask())).WaitAsync(TimeSpan.FromSeconds(10));
                Console.WriteLine($"cluster device: {Writes} cancelled 4 MiB writes returned {stopwatch.ElapsedMilliseconds} ms after the abort");
                Assert.All(results, static result => Assert.Equal(BlockResult.Cancelled, result));
            }
            finally
            {
                foreach (ClusterProcess node in cluster.Nodes.Values) node.Resume();
            }
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    private static async Task WriteOneAsync(ClusterBlockDevice device, Dictionary<long, byte[]> written, long offset, int seed)
    {
        byte[] data = ClusterBlockDeviceTests.Pattern(Block, seed);
        Assert.Equal(BlockResult.Ok, await device.WriteAsync(offset, data, false, default));
        written[offset] = data;
    }
}
