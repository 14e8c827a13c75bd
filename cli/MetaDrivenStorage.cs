using System.Globalization;
using Sds.Meta.Client;
using Sds.Proto.V1;
using Sds.Storage;
using Sds.Storage.Membership;
using Sds.Storage.Placement;
using Sds.Storage.Replication;

namespace Sds.Cli;

/// <summary>
/// A storage node whose placement and membership come from meta (issue #6): registers, pins its Raft member id in
/// the data directory, follows the cluster map, waits for the PG count, opens the node and heartbeats with PG
/// reports. One code path for <c>sds storage --meta</c> and the storage part of <c>sds server</c> (DESIGN.md §7);
/// they differ only in where the map comes from (the watch stream, or the co-located meta member in process).
/// </summary>
internal sealed class MetaDrivenStorage : IAsyncDisposable
{
    private const string MemberIdFile = "member-id";

    private readonly MetaClient client;
    private readonly ClusterMapMirror mirror;
    private readonly MetaMembership membership;

    private MetaDrivenStorage(MetaClient client, ClusterMapMirror mirror, MetaMembership membership, StorageNode node, MetaPlacementSource placement, ulong memberId)
    {
        this.client = client;
        this.mirror = mirror;
        this.membership = membership;
        Node = node;
        Placement = placement;
        MemberId = memberId;
    }

    /// <summary>The running node.</summary>
    public StorageNode Node { get; }

    /// <summary>Placement as this node follows it.</summary>
    public MetaPlacementSource Placement { get; }

    /// <summary>This node's Raft member id in every PG group (assigned by meta).</summary>
    public ulong MemberId { get; }

    /// <summary>
    /// Registers <paramref name="nodeId"/> serving on <paramref name="listen"/> (a fixed port: the address is
    /// registered before the node listens) and starts it with <paramref name="config"/> of the Raft member id meta
    /// assigned. <paramref name="mirror"/> feeds the placement; it is owned (disposed) by the result. Null with a
    /// reason on failure; throws OperationCanceledException when <paramref name="stop"/> fires first.
    /// </summary>
    public static async Task<(MetaDrivenStorage? Storage, string? Error)> StartAsync(IReadOnlyList<string> metaAddresses, string nodeId, string listen, string dataDirectory,
        Func<ulong, StorageNodeConfig> config, ClusterMapMirror mirror, CancellationToken stop)
    {
        Directory.CreateDirectory(dataDirectory);
        var client = new MetaClient(metaAddresses) { Timeout = TimeSpan.FromSeconds(5) };
        var placement = new MetaPlacementSource();
        var membership = new MetaMembership(client, placement, nodeId, listen, dataDirectory);
        bool started = false;
        try
        {
            Node registered = await membership.RegisterAsync(stop);
            if (!CheckMemberId(dataDirectory, registered.RaftMemberId, out string? mismatch))
            {
                return (null, mismatch);
            }

            mirror.Changed += map => placement.Apply(map);
            mirror.Start();
            membership.Mirror = mirror;
            membership.Start();
            while (placement.PlacementGroupCount == 0)
            {
                // The meta leader initializes the cluster (PG count) when first elected; wait for it.
                if (!await membership.RefreshMapAsync(stop) || placement.PlacementGroupCount == 0)
                {
                    await Task.Delay(200, stop);
                }
            }

            StorageNodeConfig assigned = config(registered.RaftMemberId);
            Invariant.Assert(assigned.NodeId == registered.RaftMemberId && assigned.Listen == listen && assigned.DataDirectory == dataDirectory, "the node runs as registered");
            (StorageNode? node, string? error) = await StorageNode.StartAsync(assigned, placement, stop);
            if (node is null)
            {
                return (null, error);
            }

            membership.Attach(node.Host);
            started = true;
            return (new MetaDrivenStorage(client, mirror, membership, node, placement, registered.RaftMemberId), null);
        }
        finally
        {
            if (!started)
            {
                await membership.DisposeAsync();
                await mirror.DisposeAsync();
                client.Dispose();
            }
        }
    }

    /// <summary>
    /// Waits until every PG this node hosts has a leader (a one-node cluster's single voters elect themselves
    /// after an election timeout), so the first I/O does not wait for it; false after <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> WaitForLeadersAsync(TimeSpan timeout, CancellationToken stop)
    {
        long started = Environment.TickCount64;
        while (Environment.TickCount64 - started < (long)timeout.TotalMilliseconds)
        {
            List<PgView> views = Node.Host.Views.ToList();
            if (views.Count >= Placement.PlacementGroupCount && views.All(static v => v.Leader != 0))
            {
                return true;
            }

            await Task.Delay(50, stop);
        }

        return false;
    }

    /// <summary>Stops heartbeats, then the node, then the map feed.</summary>
    public async ValueTask DisposeAsync()
    {
        await membership.DisposeAsync();
        await Node.DisposeAsync();
        await mirror.DisposeAsync();
        client.Dispose();
    }

    /// <summary>
    /// The data directory remembers the Raft member id it was created under: PG logs and chunk data belong to
    /// that member, so a meta that answers a different id (its state lost, another cluster) must not be obeyed.
    /// </summary>
    private static bool CheckMemberId(string dataDirectory, ulong memberId, out string? error)
    {
        error = null;
        string path = Path.Combine(dataDirectory, MemberIdFile);
        if (File.Exists(path))
        {
            string text = File.ReadAllText(path).Trim();
            if (text != memberId.ToString(CultureInfo.InvariantCulture))
            {
                error = $"{path} says Raft member {text}, meta assigned {memberId}; refusing to start on another member's data";
                return false;
            }

            return true;
        }

        File.WriteAllText(path, memberId.ToString(CultureInfo.InvariantCulture));
        return true;
    }
}
