using System.Net;
using Microsoft.Extensions.Logging;
using Sds.Gateway.Cluster;
using Sds.Gateway.Iscsi;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Scsi;
using Sds.Gateway.Transport;
using Sds.Proto.V1;

namespace Sds.Cli;

/// <summary>
/// <c>sds gateway</c> (DESIGN.md §6): a stateless iSCSI gateway of the cluster. It registers with meta, follows
/// the cluster map, and serves every target of the map on its portals with ClusterBlockDevices over
/// one shared StorageClient (<see cref="ClusterGateway"/>). REPORT TARGET PORT GROUPS lists one group per gateway of the map and
/// SendTargets lists every live gateway's portal. Nothing durable lives here: kill -9 at any instant is safe.
/// Stops cleanly on SIGINT/SIGTERM.
/// </summary>
internal static class GatewayCommand
{
    /// <summary>Runs the gateway; returns the process exit code (0 clean stop, 1 runtime failure).</summary>
    public static async Task<int> RunAsync(GatewayArguments arguments)
    {
        using ILoggerFactory loggerFactory = RoleHost.CreateLoggerFactory();
        ILogger logger = loggerFactory.CreateLogger("sds");
        if (arguments.DataDirectory is { } data)
        {
            Directory.CreateDirectory(data);
        }

        using var host = new RoleHost();
        string advertised = Advertised(arguments.Portals[0]);
        GatewayMembership? membership = await GatewayMembership.RegisterAsync(arguments.Meta, arguments.Id, advertised, logger, host.Stopping);
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
        string selfId = membership.Node.Id;
        var server = new IscsiTargetServer(catalog, new IscsiServerOptions(), loggerFactory);
        var options = new ClusterGatewayOptions
        {
            StorageBlockSizeBytes = arguments.BlockSize,
            IoTimeout = arguments.IoTimeout,
            PortGroups = () => portGroups,
            MapApplying = map => ApplyPeers(map, selfId, catalog, portGroups),
            // As sds server: the file chunk store frees space in file-system blocks, so the 4 KiB block is the
            // provisioning unit (LBPPBE 3, OPTIMAL UNMAP GRANULARITY 8 at 512-byte blocks); a write inside one chunk is
            // one Raft command, so WRITE ATOMIC holds across every gateway (docs/decisions.md, 2026-11-21 session 4).
            ProvisioningGranularityBytes = Sds.Gateway.Block.ClusterBlockDevice.FileSystemBlockBytes,
            AtomicWrites = true,
            // RFC 7143 §11.5.1: another gateway's TARGET COLD RESET ends this gateway's sessions of the target too.
            DropTargetSessions = server.DropSessionsOf,
        };
        await using ClusterGateway? gateway = await ClusterGateway.StartAsync(membership, catalog, options, logger, host.Stopping);
        if (gateway is null)
        {
            return 0;
        }

        List<PortalListener>? listeners = await RoleHost.BindPortalsAsync(catalog.Portals, server, "sds gateway");
        if (listeners is null)
        {
            return 1;
        }

        await host.ServeAsync(listeners, server, logger,
            $"sds gateway {arguments.Id} ready on {string.Join(", ", arguments.Portals)} (target port group {portGroup}, {gateway.Placement.PlacementGroupCount} PGs, placement from meta)");
        logger.LogInformation("stopped");
        return 0;
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
