using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Sds.Gateway.Block;
using Sds.Gateway.Cluster;
using Sds.Gateway.Iscsi;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Reservations;
using Sds.Gateway.Transport;
using Sds.Proto.V1;
using Sds.Storage.Client;
using Sds.Storage.Placement;

namespace Sds.Cli;

/// <summary>
/// <c>sds gateway</c> (DESIGN.md §6): a stateless iSCSI gateway of the cluster. It registers with meta, follows
/// the cluster map, and serves every target of the map on its portals with <see cref="ClusterBlockDevice"/>s over
/// one shared <see cref="StorageClient"/>. REPORT TARGET PORT GROUPS lists one group per gateway of the map and
/// SendTargets lists every live gateway's portal. Nothing durable lives here: kill -9 at any instant is safe.
/// Stops cleanly on SIGINT/SIGTERM.
/// </summary>
internal static class GatewayCommand
{
    /// <summary>Runs the gateway; returns the process exit code (0 clean stop, 1 runtime failure).</summary>
    public static async Task<int> RunAsync(GatewayArguments arguments)
    {
        using ILoggerFactory loggerFactory = LoggerFactory.Create(builder => builder
            .AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.TimestampFormat = "HH:mm:ss.fff ";
            })
            .SetMinimumLevel(Environment.GetEnvironmentVariable("SDS_LOG_DEBUG") == "1" ? LogLevel.Debug : LogLevel.Information)
            .AddFilter("Microsoft", LogLevel.Warning));
        ILogger logger = loggerFactory.CreateLogger("sds");
        if (arguments.DataDirectory is { } data)
        {
            Directory.CreateDirectory(data);
        }

        using var stop = new CancellationTokenSource();
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        string advertised = Advertised(arguments.Portals[0]);
        await using GatewayMembership? membership = await GatewayMembership.RegisterAsync(arguments.Meta, arguments.Id, advertised, logger, stop.Token);
        if (membership is null)
        {
            return 0; // stopped before meta answered
        }

        // All portals of one gateway form one iSCSI portal group, i.e. one SCSI target port (RFC 7143 §4.2.7):
        // TPGT = relative target port id, both unique in the cluster because meta assigns them.
        ushort relativePort = (ushort)membership.Node.RelativeTargetPortId;
        ushort portGroup = (ushort)membership.Node.TargetPortGroupId;
        var catalog = new TargetCatalog();
        foreach (IPEndPoint endPoint in arguments.Portals) catalog.AddPortal(new Portal(endPoint, relativePort, relativePort, portGroup));
        var portGroups = new ClusterTargetPortGroupProvider();
        // Placement from meta's cluster map (DESIGN.md §4), the same MetaPlacementSource the storage nodes follow: PG
        // members, epochs and storage addresses change as meta replaces a dead node, and requests route by the newest.
        // Fed before membership.Start() so the mirror's first map is not missed.
        var placement = new MetaPlacementSource();
        membership.Mirror.Changed += map => placement.Apply(map);
        await using var storage = new StorageClient(placement, new StorageClientOptions { RequestTimeout = arguments.IoTimeout });
        // Reservations live in meta and are judged from the watched copy (DESIGN.md §6, MetaPersistentReservations):
        // one per logical unit, fed every map version from the mirror's Changed event (cheap, non-blocking).
        var reservations = new SharedReservations(membership);
        using var reconciler = new GatewayReconciler(catalog, volume => OpenVolume(storage, volume, arguments.BlockSize, logger), () => portGroups, logger,
            volume => reservations.Create(volume.Id, logger));
        var firstMap = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        membership.MapChanged += async map =>
        {
            ApplyPeers(map, membership.Node.Id, catalog, portGroups);
            await reconciler.ReconcileAsync(
                map.Volumes.ToDictionary(static v => v.Id, StringComparer.Ordinal),
                map.Targets.ToDictionary(static t => t.Iqn, StringComparer.Ordinal),
                stop.Token);
            membership.AppliedVersion = Math.Max(membership.AppliedVersion, map.Version);
            // A StorageClient maps chunk → PG modulo the PG count, so no I/O before the map carries it: meta's leader
            // sets it when the cluster is first initialized, a later version than the very first map may be.
            placement.Apply(map);
            if (placement.PlacementGroupCount > 0)
            {
                firstMap.TrySetResult();
            }
        };
        membership.Start();
        try
        {
            await firstMap.Task.WaitAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            await membership.StopAsync();
            return 0;
        }

        var server = new IscsiTargetServer(catalog, new IscsiServerOptions(), loggerFactory);
        var listeners = new List<PortalListener>();
        foreach (Portal portal in catalog.Portals)
        {
            PortalListener? listener = PortalListener.TryStart(portal, server, out string? error);
            if (listener is null)
            {
                Console.Error.WriteLine($"sds gateway: {error}");
                foreach (PortalListener started in listeners) await started.DisposeAsync();
                await membership.StopAsync();
                return 1;
            }

            listeners.Add(listener);
        }

        foreach (PortalListener listener in listeners) listener.Start();
        logger.LogInformation("sds gateway {Id} ready on {Portals} (target port group {Group}, {Pgs} PGs, placement from meta)", arguments.Id, string.Join(", ", arguments.Portals), portGroup, placement.PlacementGroupCount);
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
        // The map loop uses the reconciler, which is disposed before the membership: stop the loop first.
        await membership.StopAsync();
        logger.LogInformation("stopped");
        return 0;

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    /// <summary>
    /// The reservation copies of this gateway's logical units, all observing every map version. Heartbeats report
    /// the version they all hold (GatewayMembership.AppliedVersion), which is what meta's barrier waits for.
    /// </summary>
    private sealed class SharedReservations
    {
        private readonly GatewayMembership membership;
        private volatile (string VolumeId, MetaPersistentReservations Copy)[] copies = [];

        public SharedReservations(GatewayMembership membership)
        {
            this.membership = membership;
            membership.Mirror.Changed += Observe;
        }

        public MetaPersistentReservations Create(string volumeId, ILogger logger)
        {
            ClusterMap map = membership.Mirror.Current;
            var copy = new MetaPersistentReservations(volumeId, membership.ReservationMeta, membership.Lease, map.Version, MetaPersistentReservations.StateOf(map, volumeId), logger);
            lock (this) copies = [.. copies, (volumeId, copy)];
            // Replay the newest map: a version published between Current above and the list update is not lost.
            ClusterMap latest = membership.Mirror.Current;
            copy.Observe(latest.Version, MetaPersistentReservations.StateOf(latest, volumeId));
            return copy;
        }

        private void Observe(ClusterMap map)
        {
            foreach ((string volumeId, MetaPersistentReservations copy) in copies)
            {
                copy.Observe(map.Version, MetaPersistentReservations.StateOf(map, volumeId));
            }

            membership.AppliedVersion = Math.Max(membership.AppliedVersion, map.Version);
        }
    }

    private static IBlockDevice? OpenVolume(StorageClient storage, Volume volume, int storageBlockSizeBytes, ILogger logger)
    {
        if (!ClusterBlockDevice.Supports((int)volume.LogicalBlockSizeBytes, storageBlockSizeBytes))
        {
            logger.LogError("volume {Volume} has {Block}-byte blocks but the storage nodes use {Storage} (--block-size); not exported", volume.Name, volume.LogicalBlockSizeBytes, storageBlockSizeBytes);
            return null;
        }

        long chunk = volume.ChunkSizeBytes == 0 ? ClusterBlockDevice.ChunkSizeBytesDefault : (long)volume.ChunkSizeBytes;
        return new ClusterBlockDevice(storage, Guid.Parse(volume.Id), (long)volume.SizeBytes, (int)volume.LogicalBlockSizeBytes, chunk);
    }

    // DESIGN.md §6: REPORT TARGET PORT GROUPS lists every gateway (dead ones UNAVAILABLE); SendTargets lists the
    // portals of every other live gateway after this one's own.
    private static void ApplyPeers(ClusterMap map, string selfId, TargetCatalog catalog, ClusterTargetPortGroupProvider portGroups)
    {
        var groups = new List<TargetPortGroup>();
        var peers = new List<string>();
        foreach (Node node in map.Nodes)
        {
            if (!node.Roles.Contains(NodeRole.Gateway) || node.TargetPortGroupId == 0) continue;
            bool live = node.State is NodeState.Up or NodeState.Draining;
            groups.Add(new TargetPortGroup((ushort)node.TargetPortGroupId, live ? AsymmetricAccessState.ActiveOptimized : AsymmetricAccessState.Unavailable, [(ushort)node.RelativeTargetPortId]));
            if (live && node.Id != selfId && node.IscsiPortal.Length > 0)
            {
                peers.Add($"{node.IscsiPortal},{node.RelativeTargetPortId}");
            }
        }

        portGroups.Update(groups);
        catalog.PeerTargetAddresses = peers;
    }

    // The address other gateways hand out in SendTargets: a wildcard bind is not an address an initiator can use.
    private static string Advertised(IPEndPoint endPoint) =>
        endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any)
            ? $"{Dns.GetHostName()}:{endPoint.Port}"
            : endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]:{endPoint.Port}" : endPoint.ToString();
}
