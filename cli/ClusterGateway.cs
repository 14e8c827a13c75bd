using Microsoft.Extensions.Logging;
using Sds.Gateway.Block;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Reservations;
using Sds.Proto.V1;
using Sds.Storage.Client;
using Sds.Storage.Placement;

namespace Sds.Cli;

/// <summary>
/// The cluster half of a gateway (DESIGN.md §5–§6): follows meta's map through a registered
/// <see cref="GatewayMembership"/>, routes I/O by meta's placement (<see cref="MetaPlacementSource"/>, the one the
/// storage nodes follow) over one <see cref="StorageClient"/>, and keeps a <see cref="TargetCatalog"/> equal to the
/// map's targets with <see cref="ClusterBlockDevice"/> LUNs through <see cref="GatewayReconciler"/>. One code path
/// for <c>sds gateway</c> and the gateway part of <c>sds server</c> (DESIGN.md §7); they differ in the options.
/// </summary>
internal sealed class ClusterGateway : IAsyncDisposable
{
    private readonly GatewayMembership membership;
    private readonly StorageClient storage;
    private readonly GatewayReconciler reconciler;
    private readonly TaskCompletionSource firstMap = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ClusterGateway(GatewayMembership membership, TargetCatalog catalog, ClusterGatewayOptions options, ILogger logger, CancellationToken stop)
    {
        this.membership = membership;
        // Fed before membership.Start() so the mirror's first map is not missed.
        membership.Mirror.Changed += map => Placement.Apply(map);
        storage = new StorageClient(Placement, new StorageClientOptions
        {
            RequestTimeout = options.IoTimeout,
            GaveUp = (pg, attempts) => logger.LogWarning("storage request for PG {Pg} gave up after {Timeout}: {Attempts}", pg, options.IoTimeout, attempts),
        });
        if (options.LocalStorage is { } local)
        {
            storage.AttachLocal(local);
        }
        Func<Volume, IPersistentReservations?> reservationsFor = options.Reservations ?? new SharedReservations(membership, logger, options.DropTargetSessions).Create;
        reconciler = new GatewayReconciler(catalog, volume => OpenVolume(storage, volume, options, logger), options.PortGroups, logger,
            reservationsFor);
        membership.MapChanged += async map =>
        {
            options.MapApplying?.Invoke(map);
            await reconciler.ReconcileAsync(
                map.Volumes.ToDictionary(static v => v.Id, StringComparer.Ordinal),
                map.Targets.ToDictionary(static t => t.Iqn, StringComparer.Ordinal),
                stop);
            membership.AppliedVersion = Math.Max(membership.AppliedVersion, map.Version);
            // A StorageClient maps chunk → PG modulo the PG count, so no I/O before the map carries it: meta's leader
            // sets it when the cluster is first initialized, a later version than the very first map may be.
            Placement.Apply(map);
            if (Placement.PlacementGroupCount > 0)
            {
                firstMap.TrySetResult();
            }
        };
    }

    /// <summary>Placement as this gateway routes by it.</summary>
    public MetaPlacementSource Placement { get; } = new();

    /// <summary>The highest map version whose targets the catalog serves.</summary>
    public ulong AppliedVersion => membership.AppliedVersion;

    /// <summary>
    /// Starts following the map of the registered <paramref name="membership"/> (owned by the result) into
    /// <paramref name="catalog"/>, and waits for the first map that carries placement; null when
    /// <paramref name="stop"/> fires first (everything is stopped then).
    /// </summary>
    public static async Task<ClusterGateway?> StartAsync(GatewayMembership membership, TargetCatalog catalog, ClusterGatewayOptions options, ILogger logger, CancellationToken stop)
    {
        var gateway = new ClusterGateway(membership, catalog, options, logger, stop);
        membership.Start();
        try
        {
            await gateway.firstMap.Task.WaitAsync(stop);
            return gateway;
        }
        catch (OperationCanceledException)
        {
            await gateway.DisposeAsync();
            return null;
        }
    }

    /// <summary>Waits until the catalog serves map version <paramref name="version"/> or later.</summary>
    public async Task WaitForVersionAsync(ulong version, CancellationToken cancellationToken)
    {
        while (membership.AppliedVersion < version)
        {
            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>Stops map following (which uses the reconciler) first, then closes the devices, the client and the membership.</summary>
    public async ValueTask DisposeAsync()
    {
        await membership.StopAsync();
        reconciler.Dispose();
        await storage.DisposeAsync();
        await membership.DisposeAsync();
    }

    private static IBlockDevice? OpenVolume(StorageClient storage, Volume volume, ClusterGatewayOptions options, ILogger logger)
    {
        int storageBlockSizeBytes = options.StorageBlockSizeBytes;
        if (!ClusterBlockDevice.Supports((int)volume.LogicalBlockSizeBytes, storageBlockSizeBytes))
        {
            logger.LogError("volume {Volume} has {Block}-byte blocks but the storage nodes use {Storage} (--block-size); not exported", volume.Name, volume.LogicalBlockSizeBytes, storageBlockSizeBytes);
            return null;
        }

        long chunk = volume.ChunkSizeBytes == 0 ? ClusterBlockDevice.ChunkSizeBytesDefault : (long)volume.ChunkSizeBytes;
        int granularity = Math.Max(options.ProvisioningGranularityBytes, (int)volume.LogicalBlockSizeBytes);
        return new ClusterBlockDevice(storage, Guid.Parse(volume.Id), (long)volume.SizeBytes, (int)volume.LogicalBlockSizeBytes, chunk, granularity, options.AtomicWrites);
    }

    /// <summary>
    /// The reservation copies of this gateway's logical units, all observing every map version. Heartbeats report
    /// the version they all hold (GatewayMembership.AppliedVersion), which is what meta's barrier waits for.
    /// </summary>
    private sealed class SharedReservations
    {
        private readonly GatewayMembership membership;
        private readonly ILogger logger;
        private readonly Action<string>? dropTargetSessions;
        private volatile (string VolumeId, MetaPersistentReservations Copy)[] copies = [];

        public SharedReservations(GatewayMembership membership, ILogger logger, Action<string>? dropTargetSessions)
        {
            this.membership = membership;
            this.logger = logger;
            this.dropTargetSessions = dropTargetSessions;
            membership.Mirror.Changed += Observe;
        }

        public IPersistentReservations? Create(Volume volume)
        {
            ClusterMap map = membership.Mirror.Current;
            var copy = new MetaPersistentReservations(volume.Id, membership.ReservationMeta, membership.Lease, map.Version, MetaPersistentReservations.StateOf(map, volume.Id), logger);
            if (dropTargetSessions is { } drop)
            {
                // Another gateway's cold reset of a target mapping this volume ends our sessions of every such target.
                string id = volume.Id;
                copy.ColdResetObserved = () =>
                {
                    foreach (Target target in membership.Mirror.Current.Targets)
                    {
                        if (target.Luns.Any(lun => lun.VolumeId == id)) drop(target.Iqn);
                    }
                };
            }

            lock (this) copies = [.. copies, (volume.Id, copy)];
            // Replay the newest map: a version published between Current above and the list update is not lost.
            ClusterMap latest = membership.Mirror.Current;
            copy.Observe(latest.Version, MetaPersistentReservations.StateOf(latest, volume.Id));
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
}
