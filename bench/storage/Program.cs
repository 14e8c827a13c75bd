using Sds.Storage.Bench;
using Sds.Storage.Chunks;
using Sds.Storage.RocksDb;

// Raw chunk-store IOPS without network or Raft: 4 KiB random writes with a flush (fdatasync or
// WAL sync) every N writes, then 4 KiB random reads, each phase bounded in time. The working set
// is prefilled first so reads hit real data, not holes or missing keys. `--stores io` (or all) adds
// 4 KiB random write/read through Storage.Io with replicas = 3 and 1 (ClusterBench).
BenchOptions? options = BenchOptions.Parse(args);
if (options is null)
{
    return 2;
}

string runDirectory = Path.Combine(options.Directory, DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture));
Directory.CreateDirectory(runDirectory);
Console.WriteLine($"dir={runDirectory} phase={options.PhaseSeconds}s sync-every={options.WritesPerSync} working-set={options.Chunks * 4} MiB read-threads={options.ReadThreads}");
// The machine is shared; the load average says how much of it the numbers below had.
Console.WriteLine($"loadavg at start: {File.ReadAllText("/proc/loadavg").Trim()}");
var geometry = new ChunkGeometry(ChunkGeometry.DefaultChunkSizeBytes, 4096);
try
{
    if (options.Stores is "file" or "all")
    {
        ChunkStatus opened = FileChunkStore.Open(Path.Combine(runDirectory, "file"), geometry, out FileChunkStore? fileStore);
        if (opened != ChunkStatus.Ok)
        {
            Console.Error.WriteLine($"file store: {opened}");
            return 1;
        }

        using (fileStore)
        {
            StoreBench.Run("file", fileStore!, options);
        }
    }

    if (options.Stores is "rocksdb" or "all")
    {
        ChunkStatus opened = RocksDbChunkStore.Open(
            Path.Combine(runDirectory, "rocksdb"), geometry, syncWrites: false, out RocksDbChunkStore? rocksStore, out RocksDbStatus detail);
        if (opened != ChunkStatus.Ok)
        {
            Console.Error.WriteLine($"rocksdb store: {opened} {detail}");
            return 1;
        }

        using (rocksStore)
        {
            StoreBench.Run("rocksdb", rocksStore!, options);
        }
    }

    if (options.Stores is "io" or "all")
    {
        // Through Storage.Io: gRPC + Raft (group commit) + file store, replicas = 3 then 1 (ClusterBench).
        foreach (int replicas in options.Replicas)
        {
            await ClusterBench.RunAsync(options, runDirectory, replicas);
        }
    }
}
finally
{
    Console.WriteLine($"loadavg at end: {File.ReadAllText("/proc/loadavg").Trim()}");
    Directory.Delete(runDirectory, recursive: true);
}

return 0;
