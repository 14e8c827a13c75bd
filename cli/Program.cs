namespace Sds.Cli;

/// <summary>Entry point of the <c>sds</c> executable; the role and admin commands are parsed here.</summary>
internal static class Program
{
    private const string Usage = """
        usage: sds <command> [options]

        commands:
          server    run a one-process SdsTarget (meta + storage node + iSCSI gateway, replicas=1)
          meta      run one member of the meta Raft group
          storage   run a storage node (sds storage --help)
          gateway   run an iSCSI gateway of the cluster (sds gateway --help)
          volume, target, lun, acl, chap, node, status   admin commands (below)

        sds server --data DIR [--portal HOST:PORT]... [--demo] [--chap USER:SECRET]
                   [--mutual-chap USER:SECRET] [--api HOST:PORT]
          --data DIR                 data directory (created if missing): DIR/meta (the cluster map),
                                     DIR/storage (every volume's blocks), DIR/reservations (APTPL)
          --portal HOST:PORT         iSCSI portal; repeat for more paths (default 127.0.0.1:3260);
                                     each portal is its own TPGT and relative target port
          --demo                     create target iqn.2026-11.io.sds:demo with LUN 0 = volume "demo"
                                     (1 GiB, thin) through meta, open to any initiator; a restart
                                     finds them again (nothing is created twice)
          --chap USER:SECRET         require one-way CHAP on the demo target (secret 12-16 bytes)
          --mutual-chap USER:SECRET  credentials the target answers with for mutual CHAP
          --api HOST:PORT            management API endpoint (default 127.0.0.1:7070)

        exit status: 0 after a clean shutdown (SIGINT/SIGTERM), 1 on a runtime failure
        (e.g. a busy portal), 2 on bad arguments.
        """;

    private static async Task<int> Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("sds: missing command (see sds --help)");
            return 2;
        }
        if (args[0] is "server" or "gateway")
        {
            // Before any socket exists, the exporter's included (the runtime reads the switch once): see SocketCompletionMode.
            Sds.Gateway.Transport.SocketCompletionMode.PreferInline();
        }

        // Daemon roles export spans and metrics when OTEL_EXPORTER_OTLP_ENDPOINT is set (cli/Telemetry.cs).
        using IDisposable telemetry = args[0] is "server" or "meta" or "storage" or "gateway"
            ? Telemetry.Start(args[0], InstanceId(args))
            : Telemetry.None;
        switch (args[0])
        {
            case "--help":
            case "-h":
            case "help":
                Console.WriteLine(Usage);
                Console.WriteLine(MetaMemberCommand.Usage);
                Console.WriteLine(Admin.AdminCommand.Usage);
                return 0;
            case "meta":
                return await MetaMemberCommand.RunAsync(args[1..]);
            case "volume" or "target" or "lun" or "acl" or "chap" or "node" or "status":
                return await Admin.AdminCommand.RunAsync(args);
            case "server":
                return await RunRoleAsync(args, Usage, ServerArguments.Parse, ServerCommand.RunAsync);
            case "storage":
                return await RunRoleAsync(args, StorageArguments.Usage, StorageArguments.Parse, StorageCommand.RunAsync);
            case "gateway":
                return await RunRoleAsync(args, GatewayArguments.Usage, GatewayArguments.Parse, GatewayCommand.RunAsync);
            case ['-', '-', ..]:
                // Admin options may come first: sds --api HOST:PORT volume list.
                return await Admin.AdminCommand.RunAsync(args);
            default:
                Console.Error.WriteLine($"sds: unknown command '{args[0]}' (see sds --help)");
                return 2;
        }
    }

    // service.instance.id: the role's --id when given (meta and storage ids are stable), else the process id.
    private static string InstanceId(string[] args)
    {
        int at = Array.IndexOf(args, "--id");
        return at >= 0 && at + 1 < args.Length ? args[0] + "-" + args[at + 1] : args[0] + "-pid" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private delegate T? RoleParser<T>(ReadOnlySpan<string> args, out string? error)
        where T : class;

    // A daemon role: --help prints its usage (exit 0), bad arguments one line on stderr (exit 2), else it runs.
    private static async Task<int> RunRoleAsync<T>(string[] args, string usage, RoleParser<T> parse, Func<T, Task<int>> run)
        where T : class
    {
        if (args.Length > 1 && args[1] is "--help" or "-h")
        {
            Console.WriteLine(usage);
            return 0;
        }

        T? parsed = parse(args.AsSpan(1), out string? error);
        if (parsed is null)
        {
            Console.Error.WriteLine($"sds {args[0]}: {error}");
            return 2;
        }

        return await run(parsed);
    }
}
