using System.Globalization;

namespace Sds.Cli;

/// <summary>Parsed arguments of <c>sds storage</c>; parsing returns an error line instead of throwing.</summary>
internal sealed class StorageArguments
{
    public const string Usage = """
        sds storage --id N --listen HOST:PORT --data DIR [--store file|rocksdb] [--meta ADDRS]
                    [--peers 1=HOST:PORT,2=HOST:PORT,...] [--pgs N] [--replicas R] [--tick-ms MS]
                    [--block-size 512|4096]
          --id N                 this node's id (also its Raft member id), 1 or more
          --listen HOST:PORT     gRPC endpoint for Storage and RaftTransport (loopback by default)
          --data DIR             data directory: DIR/chunks (chunk store), DIR/raft (Raft logs of all PGs)
          --store KIND           chunk store: file (default) or rocksdb
          --meta ADDRS           meta members host:port,host:port,...: the node registers as storage-N, its
                                 Raft member id, PG placement and membership come from meta (no --peers,
                                 --pgs or --replicas then; --listen needs a real port)
          --peers LIST           without --meta: every storage node id=host:port, this one included; static placement:
                                 PG members by rendezvous hashing over these nodes (default: only this node)
          --pgs N                placement groups (default 64); must be equal on every node
          --replicas R           copies of every chunk (default 3, or 1 without --peers)
          --tick-ms MS           Raft tick (default 100; election timeout is 10-20 ticks)
          --block-size BYTES     chunk store block (CRC and allocation unit), 512 or 4096 (default 4096);
                                 every I/O is whole blocks, so it must equal the served volumes' block size
        """;

    public ulong Id { get; private set; }

    public string Listen { get; private init; } = "";

    public string DataDirectory { get; private init; } = "";

    public string Store { get; private set; } = "file";

    public string? Meta { get; private init; }

    public Dictionary<ulong, string> Peers { get; } = [];

    public int Pgs { get; private set; } = 64;

    public int Replicas { get; private set; }

    public int TickMs { get; private set; } = 100;

    public int BlockSize { get; private set; } = 4096;

    private static readonly IReadOnlySet<string> ValueOptions = new HashSet<string>(StringComparer.Ordinal)
    {
        "--id", "--listen", "--data", "--store", "--meta", "--peers", "--pgs", "--replicas", "--tick-ms", "--block-size",
    };

    /// <summary>Parses <paramref name="args"/> (after the word "storage"); null and an error line on bad input.</summary>
    public static StorageArguments? Parse(ReadOnlySpan<string> args, out string? error)
    {
        if (Admin.CommandLine.ParseOptions(args, Admin.CommandLine.NoFlags, ValueOptions, "sds storage --help", out error) is not { } line)
        {
            return null;
        }

        var parsed = new StorageArguments
        {
            Listen = line.Option("--listen") ?? "",
            DataDirectory = line.Option("--data") ?? "",
            Meta = line.Option("--meta"),
        };
        bool pgsGiven = line.Option("--pgs") is not null;
        long id = 0, pgs = parsed.Pgs, replicas = 0, tickMs = parsed.TickMs, blockSize = parsed.BlockSize;
        error = line.Integer("--id", 1, long.MaxValue, ref id) ?? line.Integer("--pgs", 1, 65536, ref pgs) ?? line.Integer("--replicas", 1, 7, ref replicas)
            ?? line.Integer("--tick-ms", 5, 10_000, ref tickMs) ?? line.Integer("--block-size", 512, 4096, ref blockSize);
        if (error is null && blockSize is not (512 or 4096))
        {
            error = $"bad option or value: --block-size {blockSize} (expected 512 or 4096)";
        }

        if (line.Option("--store") is { } store)
        {
            if (store is not ("file" or "rocksdb"))
            {
                error ??= $"bad option or value: --store {store} (expected file or rocksdb)";
            }

            parsed.Store = store;
        }

        if (error is not null)
        {
            return null;
        }

        (parsed.Id, parsed.Pgs, parsed.Replicas, parsed.TickMs, parsed.BlockSize) = ((ulong)id, (int)pgs, (int)replicas, (int)tickMs, (int)blockSize);
        foreach (string peer in (line.Option("--peers") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = peer.Split('=', 2);
            if (parts.Length != 2 || !ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out ulong peerId) || peerId == 0 || !parts[1].Contains(':', StringComparison.Ordinal))
            {
                error = $"--peers: '{peer}' is not id=host:port";
                return null;
            }

            parsed.Peers[peerId] = parts[1];
        }

        if (parsed.Id == 0 || parsed.Listen.Length == 0 || parsed.DataDirectory.Length == 0)
        {
            error = "--id, --listen and --data are required";
            return null;
        }

        if (parsed.Meta is not null)
        {
            if (parsed.Peers.Count > 0 || parsed.Replicas != 0 || pgsGiven)
            {
                error = "--meta takes placement from meta: --peers, --pgs and --replicas are for static placement only";
                return null;
            }

            if (parsed.Listen.EndsWith(":0", StringComparison.Ordinal) || !parsed.Listen.Contains(':', StringComparison.Ordinal))
            {
                error = "--listen needs a fixed HOST:PORT with --meta (the address is registered with meta)";
                return null;
            }

            return parsed;
        }

        if (parsed.Peers.Count == 0)
        {
            parsed.Peers[parsed.Id] = parsed.Listen;
        }

        if (!parsed.Peers.ContainsKey(parsed.Id))
        {
            error = "--peers must include this node's id";
            return null;
        }

        parsed.Replicas = parsed.Replicas == 0 ? Math.Min(3, parsed.Peers.Count) : parsed.Replicas;
        if (parsed.Replicas > parsed.Peers.Count)
        {
            error = $"--replicas {parsed.Replicas} needs at least that many --peers";
            return null;
        }

        return parsed;
    }
}
