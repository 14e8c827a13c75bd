using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Sds.Gateway.Iscsi;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Scsi;
using Sds.Gateway.Transport;
using Sds.Meta.Client;
using Sds.Storage;

namespace Sds.Cli;

/// <summary>
/// <c>sds server</c> (DESIGN.md §7): the whole cluster in one process, on the cluster's code paths — a one-member
/// meta (management API on --api), one storage node with replicas=1 (its data under DATA/storage, placement from
/// meta) and one gateway whose LUNs are <see cref="Sds.Gateway.Block.ClusterBlockDevice"/> volumes of the map.
/// Storage and gateway read the map from the meta member in process; registration, heartbeats and the data path
/// (Storage.Io) use loopback gRPC, the only path they have (docs/decisions.md). Stops cleanly on SIGINT/SIGTERM.
/// </summary>
internal static class ServerCommand
{
    /// <summary>
    /// Block size of the embedded storage node: volumes are exported only with this logical block size, so it is
    /// the volume default (512) that `sds volume create` and the demo use.
    /// </summary>
    public const int StorageBlockSizeBytes = 512;

    private const string StorageNodeId = "local-storage";
    private const string GatewayNodeId = "local-gateway";

    /// <summary>Time the co-located PGs get to elect their (single) leaders before the portals open.</summary>
    private static readonly TimeSpan LeaderWait = TimeSpan.FromSeconds(15);

    /// <summary>Runs the server; returns the process exit code.</summary>
    public static async Task<int> RunAsync(ServerArguments arguments)
    {
        using ILoggerFactory loggerFactory = RoleHost.CreateLoggerFactory();
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

        using var host = new RoleHost();
        var server = new IscsiTargetServer(catalog, IscsiOptionsFromEnvironment(), loggerFactory);
        // SIGQUIT dumps the iSCSI state (windows, tasks in flight) without stopping: the way to look
        // inside a stalled session (issue #3).
        using PosixSignalRegistration sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, context =>
        {
            context.Cancel = true;
            logger.LogWarning("state dump (SIGQUIT):\n{State}", server.DescribeState());
        });

        // Portals are bound (not yet accepting) before anything else starts, so a busy port fails the start with
        // one line and nothing else has been started or logged.
        List<PortalListener>? listeners = await RoleHost.BindPortalsAsync(catalog.Portals, server, "sds");
        if (listeners is null)
        {
            return 1;
        }

        int exitCode;
        try
        {
            exitCode = await RunPartsAsync(arguments, catalog, relativePortIds, server, listeners, host, loggerFactory, logger);
        }
        finally
        {
            await RoleHost.CloseAsync(listeners);
        }

        if (exitCode == 0)
        {
            logger.LogInformation("stopped");
        }

        return exitCode;
    }

    private static async Task<int> RunPartsAsync(ServerArguments arguments, TargetCatalog catalog, ushort[] relativePortIds, IscsiTargetServer server,
        List<PortalListener> listeners, RoleHost host, ILoggerFactory loggerFactory, ILogger logger)
    {
        await using EmbeddedMeta? meta = await EmbeddedMeta.StartAsync(arguments.DataDirectory, arguments.Api, loggerFactory);
        if (meta is null)
        {
            return 1;
        }

        logger.LogInformation("management API on {Api}", string.Join(", ", meta.Server.Addresses));
        string[] metaAddresses = [meta.Endpoint];
        string storageDirectory = Path.Combine(arguments.DataDirectory, "storage");
        // The storage address is registered before the node listens (MetaDrivenStorage), so it needs a port now:
        // a free loopback port, registered again at every start.
        string storageListen = $"127.0.0.1:{FreeLoopbackPort()}";
        MetaDrivenStorage? storage;
        try
        {
            string? error;
            (storage, error) = await MetaDrivenStorage.StartAsync(metaAddresses, StorageNodeId, storageListen, storageDirectory,
                memberId => new StorageNodeConfig
                {
                    NodeId = memberId,
                    DataDirectory = storageDirectory,
                    Listen = storageListen,
                    BlockSizeBytes = StorageBlockSizeBytes,
                },
                ClusterMapMirror.Local(meta.Server.Node, logger), host.Stopping);
            if (storage is null)
            {
                Console.Error.WriteLine($"sds: storage: {error}");
                return 1;
            }
        }
        catch (OperationCanceledException) when (host.Stopping.IsCancellationRequested)
        {
            return 0;
        }

        await using (storage)
        {
            try
            {
                if (!await storage.WaitForLeadersAsync(LeaderWait, host.Stopping))
                {
                    logger.LogWarning("not every placement group elected a leader within {Wait}; serving anyway (I/O waits for them)", LeaderWait);
                }
            }
            catch (OperationCanceledException)
            {
                return 0;
            }

            return await RunGatewayAsync(arguments, catalog, relativePortIds, server, listeners, host, meta, metaAddresses, storage.Node, logger);
        }
    }

    private static async Task<int> RunGatewayAsync(ServerArguments arguments, TargetCatalog catalog, ushort[] relativePortIds, IscsiTargetServer server,
        List<PortalListener> listeners, RoleHost host, EmbeddedMeta meta, string[] metaAddresses, StorageNode localStorage, ILogger logger)
    {
        GatewayMembership? membership = await GatewayMembership.RegisterAsync(metaAddresses, GatewayNodeId, arguments.Portals[0].ToString(), logger, host.Stopping,
            ClusterMapMirror.Local(meta.Server.Node, logger));
        if (membership is null)
        {
            return 0; // stopped while registering
        }

        var reservations = new LocalReservations(Path.Combine(arguments.DataDirectory, "reservations"));
        var options = new ClusterGatewayOptions
        {
            StorageBlockSizeBytes = StorageBlockSizeBytes,
            IoTimeout = TimeSpan.FromSeconds(15),
            // Each portal is its own target port group here (a single gateway has no peers to list).
            PortGroups = () => new NexusTargetPortGroupProvider(relativePortIds),
            Reservations = reservations.For,
            // The file chunk store frees space in file-system blocks (ClusterBlockDevice.ProvisioningGranularityBytes).
            ProvisioningGranularityBytes = Sds.Gateway.Block.ClusterBlockDevice.FileSystemBlockBytes,
            // One replica, one gateway: WRITE ATOMIC inside a chunk, as the file-backed demo LU offered it.
            AtomicWrites = true,
            // Block I/O to the co-located storage node in process (DESIGN.md §7); registration and heartbeats
            // still use loopback gRPC.
            LocalStorage = localStorage,
        };
        await using ClusterGateway? gateway = await ClusterGateway.StartAsync(membership, catalog, options, logger, host.Stopping);
        if (gateway is null)
        {
            return 0;
        }

        if (arguments.Demo)
        {
            try
            {
                (ulong version, string? error) = await DemoTarget.EnsureAsync(meta.Server.Node, DemoTarget.Chap(arguments.Chap, arguments.MutualChap), host.Stopping);
                if (error is not null)
                {
                    Console.Error.WriteLine($"sds: cannot create the demo target: {error}");
                    return 1;
                }

                // The portals open only once the gateway serves the demo LUN: the first login finds it.
                await gateway.WaitForVersionAsync(version, host.Stopping);
            }
            catch (OperationCanceledException)
            {
                return 0;
            }

            logger.LogInformation("demo target {Target}: LUN 0 = volume {Volume} ({Size} bytes){Chap}", DemoTarget.Iqn, DemoTarget.VolumeName, DemoTarget.SizeBytes,
                arguments.Chap is null ? "" : arguments.MutualChap is null ? ", CHAP" : ", mutual CHAP");
        }

        await host.ServeAsync(listeners, server, logger, "sds server ready");
        return 0;
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

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
