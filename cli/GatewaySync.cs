using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Sds.Gateway.Block;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Iscsi.Login;
using Sds.Gateway.Scsi;
using Sds.Meta.Host;
using Sds.Proto.V1;

namespace Sds.Cli;

/// <summary>
/// Keeps the all-in-one gateway's target catalog equal to the embedded meta's cluster map, without a restart:
/// it watches the map (full map, then versioned deltas) and reconciles after every event. Each mapped volume is
/// a sparse file <c>DATA/volumes/&lt;uuid&gt;.img</c> behind a <see cref="FileBlockDevice"/>; a target whose LUNs,
/// ACL, CHAP or alias changed is rebuilt and replaced in the catalog (new logins see it; sessions keep the
/// node they logged in to). A grown volume is resized in place, so its LUs raise CAPACITY DATA HAS CHANGED.
/// </summary>
internal sealed class GatewaySync : IAsyncDisposable
{
    private readonly TargetCatalog catalog;
    private readonly IReadOnlyList<ushort> relativePortIds;
    private readonly string volumeDirectory;
    private readonly ILogger logger;
    private readonly ChannelReader<ClusterMapEvent> events;
    private readonly MetaNode node;
    private readonly CancellationTokenSource stopping = new();
    private readonly Dictionary<string, Volume> volumes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Target> desiredTargets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Target> servedTargets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (FileBlockDevice Device, List<LogicalUnit> Units)> openVolumes = new(StringComparer.Ordinal);
    private readonly Task loop;

    private GatewaySync(MetaNode node, ChannelReader<ClusterMapEvent> events, TargetCatalog catalog, IReadOnlyList<ushort> relativePortIds, string dataDirectory, ILogger logger)
    {
        this.node = node;
        this.events = events;
        this.catalog = catalog;
        this.relativePortIds = relativePortIds;
        this.logger = logger;
        volumeDirectory = Path.Combine(dataDirectory, "volumes");
        Directory.CreateDirectory(volumeDirectory);
        loop = Task.Run(RunAsync);
    }

    /// <summary>Subscribes to the local member's map feed and starts reconciling.</summary>
    public static async Task<GatewaySync> StartAsync(MetaNode node, TargetCatalog catalog, IReadOnlyList<ushort> relativePortIds, string dataDirectory, ILogger logger)
    {
        MetaResult<ChannelReader<ClusterMapEvent>> subscription = await node.QueryAsync(s => node.Feed.Subscribe(0, s.Version, s.ToClusterMap), CancellationToken.None);
        Sds.Meta.Invariant.Assert(subscription.Status == MetaCallStatus.Ok, "the local member answers local queries");
        return new GatewaySync(node, subscription.Value!, catalog, relativePortIds, dataDirectory, logger);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        stopping.Cancel();
        node.Feed.Unsubscribe(events);
        try
        {
            await loop;
        }
        catch (OperationCanceledException)
        {
        }

        foreach ((FileBlockDevice device, _) in openVolumes.Values) device.Dispose();
        openVolumes.Clear();
        stopping.Dispose();
    }

    private async Task RunAsync()
    {
        while (await events.WaitToReadAsync(stopping.Token))
        {
            while (events.TryRead(out ClusterMapEvent? mapEvent))
            {
                Absorb(mapEvent);
            }

            await ReconcileAsync();
        }
    }

    private void Absorb(ClusterMapEvent mapEvent)
    {
        if (mapEvent.Full is { } full)
        {
            volumes.Clear();
            desiredTargets.Clear();
            foreach (Volume volume in full.Volumes) volumes[volume.Id] = volume;
            foreach (Target target in full.Targets) desiredTargets[target.Iqn] = target;
            return;
        }

        ClusterMapDelta delta = mapEvent.Delta;
        foreach (Volume volume in delta.UpsertedVolumes) volumes[volume.Id] = volume;
        foreach (string id in delta.RemovedVolumeIds) volumes.Remove(id);
        foreach (Target target in delta.UpsertedTargets) desiredTargets[target.Iqn] = target;
        foreach (string iqn in delta.RemovedTargetIqns) desiredTargets.Remove(iqn);
    }

    private async Task ReconcileAsync()
    {
        foreach (string iqn in servedTargets.Keys.Except(desiredTargets.Keys).ToList())
        {
            catalog.RemoveTarget(iqn);
            servedTargets.Remove(iqn);
            logger.LogInformation("target {Target} removed", iqn);
        }

        foreach ((string iqn, Target desired) in desiredTargets)
        {
            if (servedTargets.TryGetValue(iqn, out Target? served) && SameExport(served, desired))
            {
                continue;
            }

            TargetNode? built = Build(desired);
            if (built is null)
            {
                continue;
            }

            catalog.SetTarget(built);
            servedTargets[iqn] = desired;
            logger.LogInformation("target {Target} serves {Luns} LUN(s)", iqn, desired.Luns.Count);
        }

        foreach ((string id, (FileBlockDevice device, List<LogicalUnit> units)) in openVolumes.ToList())
        {
            if (!volumes.TryGetValue(id, out Volume? volume))
            {
                if (!servedTargets.Values.Any(t => t.Luns.Any(l => l.VolumeId == id)))
                {
                    device.Dispose(); // deleted and no longer exported
                    openVolumes.Remove(id);
                }

                continue;
            }

            if ((ulong)device.SizeBytes < volume.SizeBytes)
            {
                foreach (LogicalUnit unit in units)
                {
                    await unit.ResizeAsync((long)volume.SizeBytes, stopping.Token);
                }

                if (units.Count == 0) await device.ResizeAsync((long)volume.SizeBytes, stopping.Token);
                logger.LogInformation("volume {Volume} grown to {Size} bytes", volume.Name, volume.SizeBytes);
            }
        }
    }

    private TargetNode? Build(Target target)
    {
        var device = new ScsiTargetDevice(new NexusTargetPortGroupProvider(relativePortIds.ToArray()));
        foreach (LunMapping lun in target.Luns)
        {
            if (!volumes.TryGetValue(lun.VolumeId, out Volume? volume) || !Guid.TryParse(volume.Id, out Guid volumeGuid))
            {
                continue;
            }

            if (!openVolumes.TryGetValue(volume.Id, out (FileBlockDevice Device, List<LogicalUnit> Units) open))
            {
                string path = Path.Combine(volumeDirectory, volumeGuid.ToString("D") + ".img");
                try
                {
                    open = (FileBlockDevice.Open(path, (long)volume.SizeBytes, (int)volume.LogicalBlockSizeBytes), []);
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    logger.LogError("cannot open {Path} for volume {Volume}: {Message}", path, volume.Name, exception.Message);
                    continue;
                }

                openVolumes[volume.Id] = open;
            }

            var unit = new LogicalUnit(open.Device, new LogicalUnitIdentity(volumeGuid));
            open.Units.Add(unit);
            device.AddLogicalUnit((ushort)lun.Lun, unit);
        }

        ChapCredentials? chap = target.Chap?.Initiator is { } initiator ? new ChapCredentials(initiator.User, initiator.Secret) : null;
        ChapCredentials? mutual = chap is not null && target.Chap?.Target is { } mutualSecret ? new ChapCredentials(mutualSecret.User, mutualSecret.Secret) : null;
        return new TargetNode(target.Iqn, target.Alias.Length == 0 ? null : target.Alias, device, chap, mutual, target.AllowedInitiators.ToArray());
    }

    // Generation moves on every change; compare what the gateway exports instead so a rebuild happens only when needed.
    private static bool SameExport(Target served, Target desired)
    {
        Target a = served.Clone();
        Target b = desired.Clone();
        a.Generation = 0;
        b.Generation = 0;
        return a.Equals(b);
    }
}
