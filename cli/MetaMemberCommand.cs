using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Sds.Cli.Admin;
using Sds.Meta.Host;

namespace Sds.Cli;

/// <summary>
/// <c>sds meta --id N --peers 1=HOST:PORT,2=…,3=… --data DIR [--api HOST:PORT]</c>: one member of the meta
/// Raft group. Raft and the management/cluster API are served on the member's peer address (so a leader
/// hint is always a usable API address); --api adds a second endpoint for clients. Stops on SIGINT/SIGTERM.
/// </summary>
internal static class MetaMemberCommand
{
    /// <summary>Usage text.</summary>
    public const string Usage = """
        sds meta --id N --peers ID=HOST:PORT[,ID=HOST:PORT...] --data DIR [--api HOST:PORT]
                 [--snapshot-threshold ENTRIES] [--compaction-lag ENTRIES] [--tick-ms MS]
                 [--replicas N] [--pg-count N] [--node-down-ms MS] [--node-out-ms MS]
          --id N                  this member's Raft id (one of --peers)
          --peers LIST            every member's id and peer address; Raft and the API listen there
          --data DIR              Raft log and snapshots (created if missing)
          --api HOST:PORT         an extra endpoint for the Management/Cluster API
          --snapshot-threshold N  applied entries between snapshots (default 10000)
          --compaction-lag N      entries kept behind a snapshot for slow followers (default 1000)
          --tick-ms MS            Raft tick period (default 100; election timeout is 10 ticks)
          --replicas N            default replicas of volumes and PGs (default 3)
          --pg-count N            placement groups created at cluster start (default 64)
          --node-down-ms MS       a storage node silent this long is marked down (default 10000)
          --node-out-ms MS        down this long, it is marked out and its PG copies are rebuilt
                                  elsewhere: the grace period (default 600000)
        """;

    /// <summary>Runs the member; returns the exit code (0 clean stop, 1 runtime failure, 2 usage).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        CommandLine? line = CommandLine.Parse(args, out string? parseError);
        MetaServerOptions? options = line is null ? null : Parse(line, out parseError);
        if (options is null || line!.UnknownOption() is { } unknown && (parseError = $"unknown option {unknown}") is not null)
        {
            Console.Error.WriteLine($"sds meta: {parseError}");
            return ExitCodes.Usage;
        }

        using ILoggerFactory loggerFactory = LoggerFactory.Create(builder => builder
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
            .SetMinimumLevel(LogLevel.Information)
            .AddFilter("Microsoft", LogLevel.Warning));
        ILogger logger = loggerFactory.CreateLogger("sds");
        MetaServer server;
        try
        {
            server = await MetaServer.StartAsync(options, loggerFactory, CancellationToken.None);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Console.Error.WriteLine($"sds meta: cannot start: {exception.Message.ReplaceLineEndings(" ")}");
            return 1;
        }

        using var stop = new CancellationTokenSource();
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        logger.LogInformation("sds meta member {Id} ready on {Addresses}", options.Id, string.Join(", ", server.Addresses));
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }

        await server.DisposeAsync();
        logger.LogInformation("stopped");
        return 0;

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    private static MetaServerOptions? Parse(CommandLine line, out string? error)
    {
        error = null;
        if (line.Positional.Count > 0)
        {
            error = $"unexpected argument '{line.Positional[0]}'";
            return null;
        }

        string? idText = line.Option("--id");
        string? peersText = line.Option("--peers");
        string? data = line.Option("--data");
        if (idText is null || peersText is null || data is null)
        {
            error = "--id, --peers and --data are required";
            return null;
        }

        if (!ulong.TryParse(idText, NumberStyles.None, CultureInfo.InvariantCulture, out ulong id) || id == 0)
        {
            error = $"--id '{idText}' is not a positive integer";
            return null;
        }

        var peers = new Dictionary<ulong, string>();
        foreach (string item in peersText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int equals = item.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || !ulong.TryParse(item[..equals], NumberStyles.None, CultureInfo.InvariantCulture, out ulong peerId) || peerId == 0 || item.Length == equals + 1 || !peers.TryAdd(peerId, item[(equals + 1)..]))
            {
                error = $"--peers entry '{item}' is not ID=HOST:PORT with a unique positive id";
                return null;
            }
        }

        if (!peers.ContainsKey(id))
        {
            error = $"--id {id} is not in --peers";
            return null;
        }

        ulong snapshotThreshold = Number(line, "--snapshot-threshold", 10_000, ref error);
        ulong compactionLag = Number(line, "--compaction-lag", 1_000, ref error);
        ulong tickMs = Number(line, "--tick-ms", 100, ref error);
        ulong replicas = Number(line, "--replicas", 3, ref error);
        ulong pgCount = Number(line, "--pg-count", 64, ref error);
        ulong downMs = Number(line, "--node-down-ms", 10_000, ref error);
        ulong outMs = Number(line, "--node-out-ms", 600_000, ref error);
        if (error is null && (snapshotThreshold == 0 || tickMs is 0 or > 10_000 || replicas is 0 or > 5 || pgCount is 0 or > 65_536))
        {
            error = "--snapshot-threshold must be positive, --tick-ms 1..10000, --replicas 1..5, --pg-count 1..65536";
        }

        if (error is null && (downMs is 0 or > 86_400_000 || outMs <= downMs || outMs > 86_400_000))
        {
            error = "--node-down-ms must be 1..86400000 and --node-out-ms larger than it (at most 86400000)";
        }

        if (error is not null)
        {
            return null;
        }

        return new MetaServerOptions
        {
            Id = id,
            Peers = peers,
            ApiEndpoint = line.Option("--api"),
            Node = new MetaNodeOptions
            {
                Id = id,
                Voters = [.. peers.Keys.Order()],
                DataDirectory = data,
                SnapshotThresholdEntries = snapshotThreshold,
                CompactionLagEntries = compactionLag,
                TickInterval = TimeSpan.FromMilliseconds(tickMs),
                DefaultReplicas = (uint)replicas,
                PgCount = (uint)pgCount,
                NodeDownTimeout = TimeSpan.FromMilliseconds(downMs),
                NodeOutTimeout = TimeSpan.FromMilliseconds(outMs),
            },
        };
    }

    private static ulong Number(CommandLine line, string name, ulong defaultValue, ref string? error)
    {
        string? text = line.Option(name);
        if (text is null)
        {
            return defaultValue;
        }

        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value))
        {
            error ??= $"{name} '{text}' is not a non-negative integer";
        }

        return value;
    }
}
