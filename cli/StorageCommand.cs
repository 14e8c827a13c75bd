using System.Globalization;
using System.Runtime.InteropServices;
using Sds.Meta.Client;
using Sds.Proto.V1;
using Sds.Storage;
using Sds.Storage.Membership;
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
    private const string MemberIdFile = "member-id";

    public static async Task<int> RunAsync(StorageArguments arguments)
    {
        using var stop = new CancellationTokenSource();
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        try
        {
            return arguments.Meta is null ? await RunStaticAsync(arguments, stop.Token) : await RunWithMetaAsync(arguments, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    private static async Task<int> RunStaticAsync(StorageArguments arguments, CancellationToken stop)
    {
        var placement = new StaticPlacementSource(arguments.Peers, arguments.Pgs, arguments.Replicas);
        (StorageNode? node, string? error) = await StorageNode.StartAsync(Config(arguments, arguments.Id), placement, stop);
        if (node is null)
        {
            Console.Error.WriteLine($"sds storage: {error}");
            return 1;
        }

        using PosixSignalRegistration sigquit = DumpStateOnSigquit(node, stop);
        Console.WriteLine($"sds storage: node {arguments.Id} serving on {node.Address} ({arguments.Store} store, {arguments.Pgs} PGs, {arguments.Replicas} replicas, {arguments.Peers.Count} nodes)");
        await WaitAsync(stop);
        await node.DisposeAsync();
        return 0;
    }

    private static async Task<int> RunWithMetaAsync(StorageArguments arguments, CancellationToken stop)
    {
        string nodeId = "storage-" + arguments.Id.ToString(CultureInfo.InvariantCulture);
        Directory.CreateDirectory(arguments.DataDirectory);
        using var client = new MetaClient(arguments.Meta!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) { Timeout = TimeSpan.FromSeconds(5) };
        var placement = new MetaPlacementSource();
        var membership = new MetaMembership(client, placement, nodeId, arguments.Listen, arguments.DataDirectory);
        Node registered = await membership.RegisterAsync(stop);
        if (!CheckMemberId(arguments.DataDirectory, registered.RaftMemberId, out string? mismatch))
        {
            Console.Error.WriteLine($"sds storage: {mismatch}");
            return 1;
        }

        string[] metaAddresses = arguments.Meta!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        await using ClusterMapMirror mirror = ClusterMapMirror.Remote(metaAddresses, nodeId);
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

        (StorageNode? node, string? error) = await StorageNode.StartAsync(Config(arguments, registered.RaftMemberId), placement, stop);
        if (node is null)
        {
            Console.Error.WriteLine($"sds storage: {error}");
            return 1;
        }

        node.Host.MembershipChanged += LogMembership;
        node.Host.SnapshotEvent += static (pg, index, from, what) => Console.WriteLine($"sds storage: pg {pg} snapshot {index} from member {from}: {what}");
        node.Host.ApplyFailed += static (pg, index, status) => Console.Error.WriteLine($"sds storage: ERROR pg {pg} entry {index} failed to apply here: {status}; this replica's chunks may differ from the others'");
        foreach (PgView view in node.Host.Views)
        {
            LogMembership(view); // replicas opened before the handler was attached
        }

        membership.Attach(node.Host);
        using PosixSignalRegistration sigquit = DumpStateOnSigquit(node, stop);
        Task status = Environment.GetEnvironmentVariable("SDS_STORAGE_STATUS_MS") is { } statusMs && int.TryParse(statusMs, out int periodMs) && periodMs > 0
            ? LogStatusAsync(node.Host, TimeSpan.FromMilliseconds(periodMs), stop)
            : Task.CompletedTask;
        Console.WriteLine($"sds storage: node {nodeId} (member {registered.RaftMemberId}) serving on {arguments.Listen} ({arguments.Store} store, {placement.PlacementGroupCount} PGs, placement from meta {arguments.Meta})");
        await WaitAsync(stop);
        await membership.DisposeAsync();
        await node.DisposeAsync();
        return 0;
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

    private static async Task WaitAsync(CancellationToken stop)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, stop);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
