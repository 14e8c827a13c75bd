using System.Diagnostics;
using Sds.Storage.Chunks;

namespace Sds.Storage.Bench;

/// <summary>The three phases (prefill, random write, random read) against one store.</summary>
internal static class StoreBench
{
    private const int IoBytes = 4096;
    private const int PrefillBytes = 1024 * 1024;

    /// <summary>Runs every phase and prints one line per timed phase.</summary>
    public static void Run(string name, IChunkStore store, BenchOptions options)
    {
        var volume = Guid.NewGuid();
        Prefill(store, volume, options);
        RandomWrite(name, store, volume, options);
        RandomRead(name, store, volume, options, threads: 1);
        if (options.ReadThreads > 1)
        {
            RandomRead(name, store, volume, options, options.ReadThreads);
        }

        MappedExtents(name, store, volume, options);
    }

    /// <summary>
    /// Whole-chunk mapped-extent queries (GET LBA STATUS), which QEMU sends before reads of thin
    /// LUs (DESIGN.md §10); a short phase, since it only has to show the query is cheap.
    /// </summary>
    private static void MappedExtents(string name, IChunkStore store, Guid volume, BenchOptions options)
    {
        var extents = new ChunkExtent[64];
        var random = new Random(4);
        var latencies = new LatencyRecorder();
        double phaseSeconds = Math.Min(options.PhaseSeconds, 3);
        long deadline = Stopwatch.GetTimestamp() + (long)(phaseSeconds * Stopwatch.Frequency);
        long started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var key = new ChunkKey(volume, (ulong)random.Next(options.Chunks));
            long before = Stopwatch.GetTimestamp();
            Check(store.GetMappedExtents(key, 0, store.Geometry.ChunkSizeBytes, extents, out _), "extents");
            latencies.Record(Stopwatch.GetTimestamp() - before);
        }

        double seconds = (double)(Stopwatch.GetTimestamp() - started) / Stopwatch.Frequency;
        (double mean, double p50, double p99) = LatencyRecorder.Summarize([latencies]);
        Console.WriteLine(
            $"{name,-8} extents (whole 4 MiB chunk, fully mapped): {latencies.Count / seconds,9:F0} queries/s  (mean {mean:F1} µs p50 {p50:F1} p99 {p99:F1})");
    }

    private static void Prefill(IChunkStore store, Guid volume, BenchOptions options)
    {
        byte[] data = new byte[PrefillBytes];
        new Random(1).NextBytes(data);
        var clock = Stopwatch.StartNew();
        for (int chunk = 0; chunk < options.Chunks; chunk++)
        {
            for (int offset = 0; offset < store.Geometry.ChunkSizeBytes; offset += PrefillBytes)
            {
                Check(store.Write(new ChunkKey(volume, (ulong)chunk), offset, data), "prefill write");
            }
        }

        Check(store.Flush(), "prefill flush");
        Console.WriteLine($"  prefill {options.Chunks * 4} MiB in {clock.Elapsed.TotalSeconds:F1}s");
    }

    private static void RandomWrite(string name, IChunkStore store, Guid volume, BenchOptions options)
    {
        byte[] data = new byte[IoBytes];
        new Random(2).NextBytes(data);
        var random = new Random(3);
        var latencies = new LatencyRecorder();
        int blocksPerChunk = store.Geometry.ChunkSizeBytes / IoBytes;
        long deadline = Stopwatch.GetTimestamp() + (long)(options.PhaseSeconds * Stopwatch.Frequency);
        long started = Stopwatch.GetTimestamp();
        long syncs = 0;
        long now = started;
        while (now < deadline)
        {
            for (int i = 0; i < options.WritesPerSync; i++)
            {
                var key = new ChunkKey(volume, (ulong)random.Next(options.Chunks));
                long offset = (long)random.Next(blocksPerChunk) * IoBytes;
                data[0]++;
                long before = Stopwatch.GetTimestamp();
                Check(store.Write(key, offset, data), "write");
                latencies.Record(Stopwatch.GetTimestamp() - before);
            }

            // The batch is acknowledged only after the flush, as a Raft ready cycle would be.
            Check(store.Flush(), "flush");
            syncs++;
            now = Stopwatch.GetTimestamp();
        }

        double seconds = (double)(now - started) / Stopwatch.Frequency;
        (double mean, double p50, double p99) = LatencyRecorder.Summarize([latencies]);
        Console.WriteLine(
            $"{name,-8} randwrite 4k sync/{options.WritesPerSync}: {latencies.Count / seconds,9:F0} IOPS  " +
            $"({syncs / seconds:F0} syncs/s; write call mean {mean:F1} µs p50 {p50:F1} p99 {p99:F1}; durable batch every {seconds * 1e6 / syncs:F0} µs)");
    }

    private static void RandomRead(string name, IChunkStore store, Guid volume, BenchOptions options, int threads)
    {
        var recorders = new LatencyRecorder[threads];
        long deadline = Stopwatch.GetTimestamp() + (long)(options.PhaseSeconds * Stopwatch.Frequency);
        long started = Stopwatch.GetTimestamp();
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            var recorder = recorders[t] = new LatencyRecorder();
            int seed = 10 + t;
            workers[t] = new Thread(() => ReadLoop(store, volume, options.Chunks, recorder, seed, deadline));
            workers[t].Start();
        }

        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        double seconds = (double)(Stopwatch.GetTimestamp() - started) / Stopwatch.Frequency;
        long total = recorders.Sum(r => r.Count);
        (double mean, double p50, double p99) = LatencyRecorder.Summarize(recorders);
        Console.WriteLine(
            $"{name,-8} randread  4k x{threads} threads: {total / seconds,9:F0} IOPS  (mean {mean:F1} µs p50 {p50:F1} p99 {p99:F1})");
    }

    private static void ReadLoop(IChunkStore store, Guid volume, int chunks, LatencyRecorder recorder, int seed, long deadline)
    {
        byte[] buffer = new byte[IoBytes];
        var random = new Random(seed);
        int blocksPerChunk = store.Geometry.ChunkSizeBytes / IoBytes;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var key = new ChunkKey(volume, (ulong)random.Next(chunks));
            long offset = (long)random.Next(blocksPerChunk) * IoBytes;
            long before = Stopwatch.GetTimestamp();
            ChunkReadResult read = store.Read(key, offset, buffer, default);
            recorder.Record(Stopwatch.GetTimestamp() - before);
            Check(read.Status, "read");
        }
    }

    private static void Check(ChunkStatus status, string what)
    {
        if (status != ChunkStatus.Ok)
        {
            throw new InvalidOperationException($"{what} failed: {status}");
        }
    }
}
