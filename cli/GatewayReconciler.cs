using Microsoft.Extensions.Logging;
using Sds.Gateway.Block;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Iscsi.Login;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Reservations;
using Sds.Proto.V1;

namespace Sds.Cli;

/// <summary>
/// Makes a gateway's <see cref="TargetCatalog"/> equal to the cluster map's targets, LUNs, ACLs and CHAP, without
/// a restart (issue #7), through <see cref="ClusterGateway"/> for both <c>sds gateway</c> and <c>sds server</c>. A target whose export changed is rebuilt and replaced in the catalog (new logins
/// see it; sessions keep the node they logged in to). A grown volume is resized in place, so its logical units
/// raise CAPACITY DATA HAS CHANGED. Not thread-safe: one caller (the map-following loop) drives it.
/// </summary>
internal sealed class GatewayReconciler : IDisposable
{
    private readonly TargetCatalog catalog;
    private readonly Func<Volume, IBlockDevice?> openDevice;
    private readonly Func<ITargetPortGroupProvider> portGroups;
    private readonly ILogger logger;
    private readonly Dictionary<string, Target> servedTargets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (IBlockDevice Device, List<LogicalUnit> Units)> openVolumes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Volume> refusedVolumes = new(StringComparer.Ordinal);
    private readonly Func<Volume, IPersistentReservations?>? reservationsFor;

    /// <summary>
    /// Creates the reconciler. <paramref name="openDevice"/> opens a volume's device (null, after logging why,
    /// when it cannot); <paramref name="portGroups"/> gives the provider each new target device reports from.
    /// </summary>
    /// <remarks>
    /// <paramref name="reservationsFor"/> (cluster gateways) gives each new logical unit its reservations; null
    /// keeps the unit's own in-process reservations (tests). A target's units report a removable medium when the map
    /// says so (<c>Target.removable</c>, the same on every gateway); with shared reservations the medium state is
    /// shared too (<see cref="MetaRemovableMedium"/>), otherwise each unit keeps its own.
    /// </remarks>
    public GatewayReconciler(TargetCatalog catalog, Func<Volume, IBlockDevice?> openDevice, Func<ITargetPortGroupProvider> portGroups, ILogger logger,
        Func<Volume, IPersistentReservations?>? reservationsFor = null)
    {
        this.reservationsFor = reservationsFor;
        this.catalog = catalog;
        this.openDevice = openDevice;
        this.portGroups = portGroups;
        this.logger = logger;
    }

    /// <summary>Number of volumes with an open device (for tests and status).</summary>
    public int OpenVolumeCount => openVolumes.Count;

    /// <summary>Brings the catalog to <paramref name="targets"/> over <paramref name="volumes"/> (both keyed as in the map).</summary>
    public async Task ReconcileAsync(IReadOnlyDictionary<string, Volume> volumes, IReadOnlyDictionary<string, Target> targets, CancellationToken cancellationToken)
    {
        foreach (string iqn in servedTargets.Keys.Where(iqn => !targets.ContainsKey(iqn)).ToList())
        {
            catalog.RemoveTarget(iqn);
            servedTargets.Remove(iqn);
            logger.LogInformation("target {Target} removed", iqn);
        }

        foreach ((string iqn, Target desired) in targets)
        {
            if (servedTargets.TryGetValue(iqn, out Target? served) && SameExport(served, desired) && SameVolumes(served, volumes))
            {
                continue;
            }

            catalog.SetTarget(Build(desired, volumes));
            servedTargets[iqn] = desired.Clone();
            logger.LogInformation("target {Target} serves {Luns} LUN(s)", iqn, desired.Luns.Count);
        }

        foreach ((string id, (IBlockDevice device, List<LogicalUnit> units)) in openVolumes.ToList())
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
                    await unit.ResizeAsync((long)volume.SizeBytes, cancellationToken);
                }

                if (units.Count == 0) await device.ResizeAsync((long)volume.SizeBytes, cancellationToken);
                logger.LogInformation("volume {Volume} grown to {Size} bytes", volume.Name, volume.SizeBytes);
            }
        }
    }

    /// <summary>Closes every device.</summary>
    public void Dispose()
    {
        foreach ((IBlockDevice device, _) in openVolumes.Values) device.Dispose();
        openVolumes.Clear();
    }

    private TargetNode Build(Target target, IReadOnlyDictionary<string, Volume> volumes)
    {
        var device = new ScsiTargetDevice(portGroups());
        bool removableMedium = target.Removable;
        foreach (LunMapping lun in target.Luns)
        {
            if (!volumes.TryGetValue(lun.VolumeId, out Volume? volume) || !Guid.TryParse(volume.Id, out Guid volumeGuid))
            {
                continue;
            }

            if (!openVolumes.TryGetValue(volume.Id, out (IBlockDevice Device, List<LogicalUnit> Units) open))
            {
                IBlockDevice? opened = openDevice(volume);
                if (opened is null)
                {
                    refusedVolumes[volume.Id] = volume.Clone();
                    continue;
                }

                refusedVolumes.Remove(volume.Id);

                open = (opened, []);
                openVolumes[volume.Id] = open;
            }

            // DESIGN.md §6: the identity (VPD 0x80 serial, 0x83 NAA) comes from the volume UUID alone, so every
            // gateway reports the same device and multipath sees one LU behind N paths.
            IPersistentReservations? reservations = reservationsFor?.Invoke(volume);
            // SBC-3 r36 §5.14/§5.20: an eject or prevention through one gateway holds on every path, so a cluster
            // unit's medium lives in the volume's shared record, next to its reservations.
            MetaRemovableMedium? sharedMedium = removableMedium ? (reservations as MetaPersistentReservations)?.Medium : null;
            var unit = new LogicalUnit(open.Device, new LogicalUnitIdentity(volumeGuid), reservations: reservations, removable: removableMedium, medium: sharedMedium);
            if (reservations is MetaPersistentReservations shared)
            {
                // Unit attentions for preempted/released registrants are raised by the shared copy on this unit.
                shared.Attach(unit.UnitAttentions);
            }

            open.Units.Add(unit);
            device.AddLogicalUnit((ushort)lun.Lun, unit);
        }

        ChapCredentials? chap = target.Chap?.Initiator is { } initiator ? new ChapCredentials(initiator.User, initiator.Secret) : null;
        ChapCredentials? mutual = chap is not null && target.Chap?.Target is { } mutualSecret ? new ChapCredentials(mutualSecret.User, mutualSecret.Secret) : null;
        return new TargetNode(target.Iqn, target.Alias.Length == 0 ? null : target.Alias, device, chap, mutual, target.AllowedInitiators.ToArray());
    }

    // A LUN whose volume was unknown when the target was built is retried once it is known; a volume the factory
    // refused is retried only when its record changes (not on every map event).
    private bool SameVolumes(Target served, IReadOnlyDictionary<string, Volume> volumes) =>
        served.Luns.All(l => openVolumes.ContainsKey(l.VolumeId) || !volumes.TryGetValue(l.VolumeId, out Volume? volume)
            || (refusedVolumes.TryGetValue(l.VolumeId, out Volume? refused) && refused.Equals(volume)));

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
