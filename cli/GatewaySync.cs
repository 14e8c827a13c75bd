using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Sds.Gateway.Block;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Scsi;
using Sds.Meta.Host;
using Sds.Proto.V1;

namespace Sds.Cli;

/// <summary>
/// Keeps the all-in-one gateway's target catalog equal to the embedded meta's cluster map, without a restart:
/// it watches the map (full map, then versioned deltas) and hands the current volumes and targets to the
/// shared <see cref="GatewayReconciler"/> after every batch of events. Each mapped volume is a sparse file
/// <c>DATA/volumes/&lt;uuid&gt;.img</c> behind a <see cref="FileBlockDevice"/> (replicas = 1, DESIGN.md §7).
/// </summary>
internal sealed class GatewaySync : IAsyncDisposable
{
    private readonly ChannelReader<ClusterMapEvent> events;
    private readonly MetaNode node;
    private readonly GatewayReconciler reconciler;
    private readonly CancellationTokenSource stopping = new();
    private readonly Dictionary<string, Volume> volumes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Target> desiredTargets = new(StringComparer.Ordinal);
    private readonly Task loop;

    private GatewaySync(MetaNode node, ChannelReader<ClusterMapEvent> events, TargetCatalog catalog, IReadOnlyList<ushort> relativePortIds, string dataDirectory, ILogger logger)
    {
        this.node = node;
        this.events = events;
        string volumeDirectory = Path.Combine(dataDirectory, "volumes");
        Directory.CreateDirectory(volumeDirectory);
        ushort[] ports = relativePortIds.ToArray();
        reconciler = new GatewayReconciler(catalog, volume => OpenFile(volumeDirectory, volume, logger), () => new NexusTargetPortGroupProvider(ports), logger);
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

        reconciler.Dispose();
        stopping.Dispose();
    }

    private static FileBlockDevice? OpenFile(string volumeDirectory, Volume volume, ILogger logger)
    {
        string path = Path.Combine(volumeDirectory, Guid.Parse(volume.Id).ToString("D") + ".img");
        try
        {
            return FileBlockDevice.Open(path, (long)volume.SizeBytes, (int)volume.LogicalBlockSizeBytes);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            logger.LogError("cannot open {Path} for volume {Volume}: {Message}", path, volume.Name, exception.Message);
            return null;
        }
    }

    private async Task RunAsync()
    {
        while (await events.WaitToReadAsync(stopping.Token))
        {
            while (events.TryRead(out ClusterMapEvent? mapEvent))
            {
                Absorb(mapEvent);
            }

            await reconciler.ReconcileAsync(volumes, desiredTargets, stopping.Token);
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
}
