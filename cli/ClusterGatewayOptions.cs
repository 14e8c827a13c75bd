using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Reservations;
using Sds.Proto.V1;

namespace Sds.Cli;

/// <summary>What differs between the gateway of <c>sds gateway</c> and the one inside <c>sds server</c>.</summary>
internal sealed class ClusterGatewayOptions
{
    /// <summary>The storage nodes' block size; only volumes with this logical block size are exported.</summary>
    public required int StorageBlockSizeBytes { get; init; }

    /// <summary>Time budget of one storage request across retries.</summary>
    public required TimeSpan IoTimeout { get; init; }

    /// <summary>The provider each new target device reports REPORT TARGET PORT GROUPS from.</summary>
    public required Func<ITargetPortGroupProvider> PortGroups { get; init; }

    /// <summary>
    /// Each new logical unit's reservations; null means meta's shared copy (<see cref="MetaPersistentReservations"/>,
    /// DESIGN.md §6), which every gateway of a cluster needs.
    /// </summary>
    public Func<Volume, IPersistentReservations?>? Reservations { get; init; }

    /// <summary>Provisioning unit the volumes report (0 = their block; see ClusterBlockDevice.ProvisioningGranularityBytes).</summary>
    public int ProvisioningGranularityBytes { get; init; }

    /// <summary>Whether the volumes offer WRITE ATOMIC inside one chunk (ClusterBlockDevice.AtomicWriteBytesMax).</summary>
    public bool AtomicWrites { get; init; }

    /// <summary>
    /// Ends this gateway's sessions of a target (by IQN) after another gateway's TARGET COLD RESET of it
    /// (RFC 7143 §11.5.1); null where there is no other gateway (<c>sds server</c>).
    /// </summary>
    public Action<string>? DropTargetSessions { get; init; }

    /// <summary>Called with every new map before its targets are reconciled (peer portals, port groups).</summary>
    public Action<ClusterMap>? MapApplying { get; init; }

    /// <summary>
    /// The co-located storage node (<c>sds server</c>): I/O for its member goes in process, without a socket
    /// (DESIGN.md §7, <c>StorageClient.AttachLocal</c>).
    /// </summary>
    public Sds.Storage.StorageNode? LocalStorage { get; init; }
}
