using System.Globalization;

namespace Sds.Storage.Bench;

/// <summary>Command-line knobs of the raw store benchmark, with defaults sized for this 2-core machine.</summary>
internal sealed class BenchOptions
{
    /// <summary>Where the stores live; a fresh subdirectory per run, removed afterwards.</summary>
    public string Directory { get; private set; } = Path.Combine(Path.GetTempPath(), "sds-storage-bench");

    /// <summary>Length of each timed phase.</summary>
    public double PhaseSeconds { get; private set; } = 10;

    /// <summary>Writes between two flushes (fdatasync / WAL sync): the group-commit size.</summary>
    public int WritesPerSync { get; private set; } = 32;

    /// <summary>Chunks in the working set; 64 × 4 MiB = 256 MiB.</summary>
    public int Chunks { get; private set; } = 64;

    /// <summary>Reader threads in the read phase.</summary>
    public int ReadThreads { get; private set; } = 2;

    /// <summary>Which stores to run: "file", "rocksdb" or "all".</summary>
    public string Stores { get; private set; } = "all";

    /// <summary>Raft tick of the Storage.Io nodes, milliseconds (--tick-ms).</summary>
    public int TickMs { get; private set; } = 100;

    /// <summary>Requests in flight in the Storage.Io phases, one run per value (--qd 1,16).</summary>
    public int[] QueueDepths { get; private set; } = [32];

    /// <summary>Replica counts of the Storage.Io runs (--replicas 3 or 3,1).</summary>
    public int[] Replicas { get; private set; } = [3, 1];

    /// <summary>Whether the Storage.Io runs also time reads (--reads no skips them).</summary>
    public bool Reads { get; private set; } = true;

    /// <summary>Parses "--name value" pairs; returns null and prints usage on anything unknown.</summary>
    public static BenchOptions? Parse(string[] args)
    {
        var options = new BenchOptions();
        for (int i = 0; i < args.Length; i += 2)
        {
            string value = i + 1 < args.Length ? args[i + 1] : string.Empty;
            switch (args[i])
            {
                case "--dir": options.Directory = value; break;
                case "--seconds": options.PhaseSeconds = double.Parse(value, CultureInfo.InvariantCulture); break;
                case "--sync-every": options.WritesPerSync = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--chunks": options.Chunks = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--read-threads": options.ReadThreads = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--stores": options.Stores = value; break;
                case "--tick-ms": options.TickMs = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--qd": options.QueueDepths = ParseList(value); break;
                case "--replicas": options.Replicas = ParseList(value); break;
                case "--reads": options.Reads = value != "no"; break;
                default:
                    Console.Error.WriteLine(
                        "usage: Sds.Storage.Bench [--dir DIR] [--seconds S] [--sync-every N] [--chunks C] [--read-threads T] [--stores file|rocksdb|io|all] [--tick-ms MS] [--qd 1,16] [--replicas 3,1] [--reads yes|no]");
                    return null;
            }
        }

        return options.PhaseSeconds > 0 && options.WritesPerSync > 0 && options.Chunks > 0 && options.ReadThreads > 0
            && options.QueueDepths.All(static qd => qd > 0) && options.Replicas.All(static r => r is 1 or 3) ? options : null;
    }

    private static int[] ParseList(string value) => [.. value.Split(',').Select(static v => int.Parse(v, CultureInfo.InvariantCulture))];
}
