using System.Globalization;
using System.Net;

namespace Sds.Cli;

/// <summary>Parsed arguments of <c>sds gateway</c>; parsing returns an error line instead of throwing.</summary>
internal sealed class GatewayArguments
{
    public const string Usage = """
        sds gateway --id ID --meta HOST:PORT[,HOST:PORT...] --portal HOST:PORT [--portal HOST:PORT]...
                    [--io-timeout-ms MS] [--block-size 512|4096] [--data DIR]
          --id ID                this gateway's node id in the cluster map (stable across restarts)
          --meta LIST            meta members (their API addresses); the gateway follows the leader, and
                                 storage placement (PG count, members, storage addresses) comes from meta's map
          --portal HOST:PORT     iSCSI portal; repeat for more (all portals of one gateway are one SCSI
                                 target port: one TPGT, one ALUA target port group assigned by meta)
          --io-timeout-ms MS     time budget of one storage request across retries (default 15000)
          --block-size BYTES     the storage nodes' --block-size (default 4096); only volumes with this
                                 logical block size are exported
          --data DIR             state directory (created; reserved, nothing is stored there yet)
        """;

    public string Id { get; private set; } = "";

    public List<string> Meta { get; } = [];

    public List<IPEndPoint> Portals { get; } = [];

    public TimeSpan IoTimeout { get; private set; } = TimeSpan.FromSeconds(15);

    public string? DataDirectory { get; private init; }

    public int BlockSize { get; private set; } = 4096;

    private static readonly IReadOnlySet<string> ValueOptions = new HashSet<string>(StringComparer.Ordinal) { "--id", "--meta", "--portal", "--io-timeout-ms", "--data", "--block-size" };

    /// <summary>Parses <paramref name="args"/> (after the word "gateway"); null and an error line on bad input.</summary>
    public static GatewayArguments? Parse(ReadOnlySpan<string> args, out string? error)
    {
        if (Admin.CommandLine.ParseOptions(args, Admin.CommandLine.NoFlags, ValueOptions, "sds gateway --help", out error) is not { } line)
        {
            return null;
        }

        var parsed = new GatewayArguments { DataDirectory = line.Option("--data") };
        if (line.Option("--id") is { } id)
        {
            if (id.Length is 0 or > 128)
            {
                error = $"bad option or value: --id {id}";
                return null;
            }

            parsed.Id = id;
        }

        foreach (string meta in line.Values("--meta"))
        {
            parsed.Meta.AddRange(meta.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        foreach (string portal in line.Values("--portal"))
        {
            if (!ServerArguments.TryParseEndPoint(portal, out IPEndPoint? endPoint))
            {
                error = $"--portal {portal}: expected HOST:PORT with a numeric IP address and a port 1-65535";
                return null;
            }

            parsed.Portals.Add(endPoint!);
        }

        long timeoutMs = (long)parsed.IoTimeout.TotalMilliseconds, blockSize = parsed.BlockSize;
        error = line.Integer("--io-timeout-ms", 100, 600_000, ref timeoutMs) ?? line.Integer("--block-size", 512, 4096, ref blockSize);
        if (error is null && blockSize is not (512 or 4096))
        {
            error = $"bad option or value: --block-size {blockSize} (expected 512 or 4096)";
        }

        if (error is not null)
        {
            return null;
        }

        parsed.IoTimeout = TimeSpan.FromMilliseconds(timeoutMs);
        parsed.BlockSize = (int)blockSize;

        if (parsed.Id.Length == 0 || parsed.Meta.Count == 0 || parsed.Portals.Count == 0)
        {
            error = "--id, --meta and --portal are required";
            return null;
        }

        if (parsed.Portals.Select(static p => p.ToString()).Distinct().Count() != parsed.Portals.Count)
        {
            error = "a --portal is given twice";
            return null;
        }

        return parsed;
    }
}
