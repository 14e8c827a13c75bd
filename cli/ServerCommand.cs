using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Sds.Gateway.Block;
using Sds.Gateway.Iscsi;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Reservations;
using Sds.Gateway.Transport;

namespace Sds.Cli;

/// <summary>
/// <c>sds server</c>: a one-member meta (management API on --api) and one gateway on local file-backed
/// block devices under --data (DESIGN.md §7; the storage role joins later). Stops cleanly on SIGINT/SIGTERM.
/// </summary>
internal static class ServerCommand
{
    /// <summary>The demo target's name (DESIGN.md §7).</summary>
    public const string DemoTargetName = "iqn.2026-11.io.sds:demo";

    /// <summary>Size of the demo LUN.</summary>
    public const long DemoLunSizeBytes = 1L << 30;

    /// <summary>Runs the server; returns the process exit code.</summary>
    public static async Task<int> RunAsync(ServerArguments arguments)
    {
        using ILoggerFactory loggerFactory = LoggerFactory.Create(builder => builder
            .AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.TimestampFormat = "HH:mm:ss.fff ";
            })
            .SetMinimumLevel(Environment.GetEnvironmentVariable("SDS_LOG_DEBUG") == "1" ? LogLevel.Debug : LogLevel.Information)
            .AddFilter("Microsoft.AspNetCore", LogLevel.Warning)
            .AddFilter("Microsoft.Hosting", LogLevel.Warning));
        ILogger logger = loggerFactory.CreateLogger("sds");
        try
        {
            Directory.CreateDirectory(arguments.DataDirectory);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"sds: cannot use data directory {arguments.DataDirectory}: {exception.Message}");
            return 1;
        }

        var catalog = new TargetCatalog();
        var relativePortIds = new ushort[arguments.Portals.Count];
        for (int i = 0; i < arguments.Portals.Count; i++)
        {
            // Each portal is its own portal group and SCSI target port, so two portals are two paths.
            ushort id = (ushort)(i + 1);
            relativePortIds[i] = id;
            catalog.AddPortal(new Portal(arguments.Portals[i], id, id, 1));
        }
        var devices = new List<IDisposable>();
        if (arguments.Demo)
        {
            string path = Path.Combine(arguments.DataDirectory, "demo-lun0.img");
            FileBlockDevice block;
            try
            {
                block = FileBlockDevice.Open(path, DemoLunSizeBytes);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"sds: cannot open {path}: {exception.Message}");
                return 1;
            }
            devices.Add(block);
            var device = new ScsiTargetDevice(new NexusTargetPortGroupProvider(relativePortIds));
            // The demo LU is the conformance target: removable (docs/decisions.md, like tgt's
            // removable=1) and its APTPL reservations survive restarts in <image>.pr.
            device.AddLogicalUnit(0, new LogicalUnit(block, new LogicalUnitIdentity(StableVolumeId(DemoTargetName + "/0")),
                reservationStore: new FilePersistentReservationStore(path + ".pr"), removable: true));
            catalog.AddTarget(new TargetNode(DemoTargetName, "sds-demo", device, arguments.Chap, arguments.MutualChap));
        }

        var server = new IscsiTargetServer(catalog, IscsiOptionsFromEnvironment(), loggerFactory);
        // Signals are handled before any portal is bound: the kernel accepts connections on a bound,
        // listening socket, so a client (or test) may see the port and send SIGTERM at once.
        using var stop = new CancellationTokenSource();
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        // SIGQUIT dumps the iSCSI state (windows, tasks in flight) without stopping: the way to look
        // inside a stalled session (issue #3).
        using PosixSignalRegistration sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, context =>
        {
            context.Cancel = true;
            logger.LogWarning("state dump (SIGQUIT):\n{State}", server.DescribeState());
        });
        var listeners = new List<PortalListener>();
        foreach (Portal portal in catalog.Portals)
        {
            PortalListener? listener = PortalListener.TryStart(portal, server, out string? error);
            if (listener is null)
            {
                Console.Error.WriteLine($"sds: {error}");
                foreach (PortalListener started in listeners) await started.DisposeAsync();
                foreach (IDisposable device in devices) device.Dispose();
                return 1;
            }
            listeners.Add(listener);
        }

        // Portals are bound (not yet accepting) before the embedded meta starts, so a busy port fails
        // the start with one line and nothing else has been started or logged.
        await using EmbeddedMeta? meta = await EmbeddedMeta.StartAsync(arguments.DataDirectory, arguments.Api, arguments.Portals.Select(p => p.ToString()).ToList(), loggerFactory);
        if (meta is null)
        {
            foreach (PortalListener started in listeners) await started.DisposeAsync();
            foreach (IDisposable device in devices) device.Dispose();
            return 1;
        }

        logger.LogInformation("management API on {Api}", string.Join(", ", meta.Server.Addresses));
        // Targets, LUNs, ACLs and CHAP created through the management API appear here without a restart.
        await using GatewaySync sync = await GatewaySync.StartAsync(meta.Server.Node, catalog, relativePortIds, arguments.DataDirectory, logger);
        if (arguments.Demo)
        {
            logger.LogInformation("demo target {Target}: LUN 0 = {Path} ({Size} bytes){Chap}", DemoTargetName, Path.Combine(arguments.DataDirectory, "demo-lun0.img"), DemoLunSizeBytes,
                arguments.Chap is null ? "" : arguments.MutualChap is null ? ", CHAP" : ", mutual CHAP");
        }
        foreach (PortalListener listener in listeners) listener.Start();

        logger.LogInformation("sds server ready");
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
        logger.LogInformation("shutting down");
        foreach (PortalListener listener in listeners) await listener.DisposeAsync();
        await server.StopAsync();
        foreach (IDisposable device in devices) device.Dispose();
        logger.LogInformation("stopped");
        return 0;

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    /// <summary>
    /// iSCSI options; SDS_ISCSI_INLINE_EXECUTION_BYTES_MAX (bytes, 0 = none) overrides which commands
    /// run on the read loop — a diagnostic and bench knob (the conformance suite sets 0 to drive every
    /// completion off the read loop, the path asynchronous devices take).
    /// </summary>
    private static IscsiServerOptions IscsiOptionsFromEnvironment()
    {
        string? inline = Environment.GetEnvironmentVariable("SDS_ISCSI_INLINE_EXECUTION_BYTES_MAX");
        return int.TryParse(inline, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int bytes)
            ? new IscsiServerOptions { InlineExecutionBytesMax = bytes }
            : new IscsiServerOptions();
    }

    /// <summary>A volume id that stays the same across restarts, so the LU identity (VPD 0x83) is stable.</summary>
    private static Guid StableVolumeId(string name)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(name));
        return new Guid(hash.AsSpan(0, 16));
    }
}
