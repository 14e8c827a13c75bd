using System.Runtime.InteropServices;
using Sds.Storage;
using Sds.Storage.Placement;
using Sds.Storage.Replication;

namespace Sds.Cli;

/// <summary><c>sds storage</c>: runs one storage node until SIGINT/SIGTERM (static placement until meta exists).</summary>
internal static class StorageCommand
{
    public static async Task<int> RunAsync(StorageArguments arguments)
    {
        var placement = new StaticPlacementSource(arguments.Peers, arguments.Pgs, arguments.Replicas);
        var config = new StorageNodeConfig
        {
            NodeId = arguments.Id,
            DataDirectory = arguments.DataDirectory,
            Listen = arguments.Listen,
            StoreKind = arguments.Store,
            BlockSizeBytes = arguments.BlockSize,
            Options = new StorageNodeOptions { NodeId = arguments.Id, TickInterval = TimeSpan.FromMilliseconds(arguments.TickMs) },
        };
        (StorageNode? node, string? error) = await StorageNode.StartAsync(config, placement);
        if (node is null)
        {
            Console.Error.WriteLine($"sds storage: {error}");
            return 1;
        }

        if (arguments.Meta is not null)
        {
            Console.WriteLine($"sds storage: --meta {arguments.Meta} noted; placement is static (--peers) until the meta service lands");
        }

        Console.WriteLine($"sds storage: node {arguments.Id} serving on {node.Address} ({arguments.Store} store, {arguments.Pgs} PGs, {arguments.Replicas} replicas, {arguments.Peers.Count} nodes)");
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        await stop.Task;
        await node.DisposeAsync();
        return 0;

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }
    }
}
