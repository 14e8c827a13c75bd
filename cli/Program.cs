namespace Sds.Cli;

/// <summary>Entry point of the <c>sds</c> executable; the role and admin commands are parsed here.</summary>
internal static class Program
{
    private const string Usage = """
        usage: sds <command> [options]

        commands:
          server    run a one-process SdsTarget (today: the iSCSI gateway on local file devices)

        sds server --data DIR [--portal HOST:PORT]... [--demo] [--chap USER:SECRET]
                   [--mutual-chap USER:SECRET] [--api HOST:PORT]
          --data DIR                 data directory (created if missing)
          --portal HOST:PORT         iSCSI portal; repeat for more paths (default 127.0.0.1:3260);
                                     each portal is its own TPGT and relative target port
          --demo                     create target iqn.2026-11.io.sds:demo with a 1 GiB LUN 0
                                     (sparse file DIR/demo-lun0.img), open to any initiator
          --chap USER:SECRET         require one-way CHAP on the demo target
          --mutual-chap USER:SECRET  credentials the target answers with for mutual CHAP
          --api HOST:PORT            management API endpoint (accepted; served in a later release)

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
        switch (args[0])
        {
            case "--help":
            case "-h":
            case "help":
                Console.WriteLine(Usage);
                return 0;
            case "server":
                // Before any socket exists (the runtime reads the switch once): see SocketCompletionMode.
                Sds.Gateway.Transport.SocketCompletionMode.PreferInline();
                if (args.Length > 1 && args[1] is "--help" or "-h")
                {
                    Console.WriteLine(Usage);
                    return 0;
                }
                ServerArguments? parsed = ServerArguments.Parse(args.AsSpan(1), out string? error);
                if (parsed is null)
                {
                    Console.Error.WriteLine($"sds server: {error}");
                    return 2;
                }
                return await ServerCommand.RunAsync(parsed);
            default:
                Console.Error.WriteLine($"sds: unknown command '{args[0]}' (see sds --help)");
                return 2;
        }
    }
}
