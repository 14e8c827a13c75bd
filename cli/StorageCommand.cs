using System.Globalization;
using System.Runtime.InteropServices;
using Sds.Meta.Client;
using Sds.Storage;
using Sds.Storage.Placement;
using Sds.Storage.Replication;

namespace Sds.Cli;

/// <summary>
/// <c>sds storage</c>: runs one storage node until SIGINT/SIGTERM. With <c>--meta</c> the node registers with
/// meta, heartbeats and follows the cluster map (placement and membership decided by meta, carried out by each
/// PG's Raft); without it, placement is static (<c>--peers</c>).
/// </summary>
internal static class StorageCommand
{
    public static async Task<int> RunAsync(StorageArguments arguments)
    {
        using var host = new RoleHost();
        try
        {
            return arguments.Meta is null ? await RunStaticAsync(arguments, host) : await RunWithMetaAsync(arguments, host);
        }
        catch (OperationCanceledException) when (host.Stopping.IsCancellationRequested)
        {
            return 0;
        }
    }

    private static async Task<int> RunStaticAsync(StorageArguments arguments, RoleHost host)
    {
        CancellationToken stop = host.Stopping;
        var placement = new StaticPlacementSource(arguments.Peers, arguments.Pgs, arguments.Replicas);
        (StorageNode? node, string? error) = await StorageNode.StartAsync(Config(arguments, arguments.Id), placement, stop);
        if (node is null)
        {
            Console.Error.WriteLine($"sds storage: {error}");
            return 1;
        }

        using PosixSignalRegistration sigquit = DumpStateOnSigquit(node, stop);
        Console.WriteLine($"sds storage: node {arguments.Id} serving on {node.Address} ({arguments.Store} store, {arguments.Pgs} PGs, {arguments.Replicas} replicas, {arguments.Peers.Count} nodes)");
        await host.WaitAsync();
        await node.DisposeAsync();
        return 0;
    }

    private static async Task<int> RunWithMetaAsync(StorageArguments arguments, RoleHost host)
    {
        CancellationToken stop = host.Stopping;
        string nodeId = "storage-" + arguments.Id.ToString(CultureInfo.InvariantCulture);
        string[] metaAddresses = arguments.Meta!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        (MetaDrivenStorage? storage, string? error) = await MetaDrivenStorage.StartAsync(metaAddresses, nodeId, arguments.Listen, arguments.DataDirectory,
            memberId => Config(arguments, memberId), ClusterMapMirror.Remote(metaAddresses, nodeId), stop);
        if (storage is null)
        {
            Console.Error.WriteLine($"sds storage: {error}");
            return 1;
        }

        StorageNode node = storage.Node;
        node.Host.MembershipChanged += LogMembership;
        node.Host.SnapshotEvent += static (pg, index, from, what) => Console.WriteLine($"sds storage: pg {pg} snapshot {index} from member {from}: {what}");
        node.Host.ApplyFailed += static (pg, index, status) => Console.Error.WriteLine($"sds storage: ERROR pg {pg} entry {index} failed to apply here: {status}; this replica's chunks may differ from the others'");
        foreach (PgView view in node.Host.Views)
        {
            LogMembership(view); // replicas opened before the handler was attached
        }

        using PosixSignalRegistration sigquit = DumpStateOnSigquit(node, stop);
        Task status = Environment.GetEnvironmentVariable("SDS_STORAGE_STATUS_MS") is { } statusMs && int.TryParse(statusMs, out int periodMs) && periodMs > 0
            ? LogStatusAsync(node.Host, TimeSpan.FromMilliseconds(periodMs), stop)
            : Task.CompletedTask;
        Console.WriteLine($"sds storage: node {nodeId} (member {storage.MemberId}) serving on {arguments.Listen} ({arguments.Store} store, {storage.Placement.PlacementGroupCount} PGs, placement from meta {arguments.Meta})");
        await host.WaitAsync();
        await storage.DisposeAsync();
        return 0;
    }

    /// <summary>Every PG replica's Raft state, periodically (SDS_STORAGE_STATUS_MS): for following a rebuild or a stall.</summary>
    private static async Task LogStatusAsync(StorageNodeHost host, TimeSpan period, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            foreach (PgView view in host.Views.OrderBy(static v => v.PgId))
            {
                Console.WriteLine($"sds storage: status pg {view.PgId} {view.Role} term {view.Term} leader {view.Leader} commit {view.Committed} applied {view.Applied} first {view.FirstLogIndex} epoch {view.Epoch} voters [{string.Join(',', view.Voters)}] learners [{string.Join(',', view.Learners)}]");
            }
        }
    }

    /// <summary>SIGQUIT prints every PG replica's Raft state without stopping (how a stalled PG is diagnosed).</summary>
    private static PosixSignalRegistration DumpStateOnSigquit(StorageNode node, CancellationToken stop) =>
        PosixSignalRegistration.Create(PosixSignal.SIGQUIT, context =>
        {
            context.Cancel = true;
            _ = Task.Run(async () =>
            {
                string state = await node.Host.DescribeStateAsync(stop).WaitAsync(TimeSpan.FromSeconds(5), stop).ConfigureAwait(false);
                Console.WriteLine("sds storage: state dump (SIGQUIT)\n" + state);
            }, stop);
        });

    private static void LogMembership(PgView view) =>
        Console.WriteLine($"sds storage: pg {view.PgId} epoch {view.Epoch} voters [{string.Join(',', view.Voters)}] learners [{string.Join(',', view.Learners)}]");

    private static StorageNodeConfig Config(StorageArguments arguments, ulong memberId) => new()
    {
        NodeId = memberId,
        DataDirectory = arguments.DataDirectory,
        Listen = arguments.Listen,
        StoreKind = arguments.Store,
        BlockSizeBytes = arguments.BlockSize,
        Options = new StorageNodeOptions { NodeId = memberId, TickInterval = TimeSpan.FromMilliseconds(arguments.TickMs) },
    };
}
