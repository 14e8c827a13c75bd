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

    public string? DataDirectory { get; private set; }

    public int BlockSize { get; private set; } = 4096;

    /// <summary>Parses <paramref name="args"/> (after the word "gateway"); null and an error line on bad input.</summary>
    public static GatewayArguments? Parse(ReadOnlySpan<string> args, out string? error)
    {
        var parsed = new GatewayArguments();
        error = null;
        for (int i = 0; i < args.Length; i += 2)
        {
            string option = args[i];
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            if (value is null || value.StartsWith("--", StringComparison.Ordinal))
            {
                error = $"{option} needs a value";
                return null;
            }

            switch (option)
            {
                case "--id" when value.Length is > 0 and <= 128:
                    parsed.Id = value;
                    break;
                case "--meta":
                    parsed.Meta.AddRange(value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case "--portal":
                    if (!ServerArguments.TryParseEndPoint(value, out IPEndPoint? endPoint))
                    {
                        error = $"--portal {value}: expected HOST:PORT with a numeric IP address and a port 1-65535";
                        return null;
                    }

                    parsed.Portals.Add(endPoint!);
                    break;
                case "--io-timeout-ms" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int timeout) && timeout is >= 100 and <= 600_000:
                    parsed.IoTimeout = TimeSpan.FromMilliseconds(timeout);
                    break;
                case "--data":
                    parsed.DataDirectory = value;
                    break;
                case "--block-size" when value is "512" or "4096":
                    parsed.BlockSize = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                default:
                    error = $"bad option or value: {option} {value}";
                    return null;
            }
        }

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
