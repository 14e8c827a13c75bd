using System.Globalization;
using Sds.Raft.Transport;
using Sds.Rpc;
using Sds.Storage.Chunks;
using Sds.Storage.Placement;
using Sds.Storage.RaftLog;
using Sds.Storage.Replication;
using Sds.Storage.Service;

namespace Sds.Storage;

/// <summary>
/// One storage node assembled: chunk store, shared Raft-log database, the PG event loop, the Raft transport
/// (client and service), the Storage service and scrub, behind one gRPC server. Used by <c>sds storage</c>
/// and by the in-process multi-node tests.
/// </summary>
internal sealed class StorageNode : IAsyncDisposable
{
    private readonly IChunkStore store;
    private readonly RaftLogEngine engine;
    private readonly PeerClients peers;
    private readonly RaftTransportClient transport;
    private readonly GrpcServer server;

    private StorageNode(IChunkStore store, RaftLogEngine engine, StorageNodeHost host, PeerClients peers, RaftTransportClient transport, GrpcServer server,
        StorageRequestExecutor executor, PgSnapshotFetcher fetcher)
    {
        this.store = store;
        this.engine = engine;
        Host = host;
        this.peers = peers;
        this.transport = transport;
        this.server = server;
        Executor = executor;
        Fetcher = fetcher;
        Scrubber = new PgScrubber(host, executor, peers);
    }

    public StorageNodeHost Host { get; }

    public StorageRequestExecutor Executor { get; }

    public PgSnapshotFetcher Fetcher { get; }

    public PgScrubber Scrubber { get; }

    /// <summary>The bound gRPC endpoint, host:port.</summary>
    public string Address => $"127.0.0.1:{server.Port}";

    /// <summary>Opens the stores, starts the loop and the server. On failure returns null with a reason.</summary>
    public static async Task<(StorageNode? Node, string? Error)> StartAsync(StorageNodeConfig config, IPlacementSource placement, CancellationToken cancellationToken = default)
    {
        var geometry = new ChunkGeometry(config.ChunkSizeBytes, config.BlockSizeBytes);
        string chunkPath = Path.Combine(config.DataDirectory, "chunks");
        IChunkStore? store;
        if (config.StoreKind == "rocksdb")
        {
            ChunkStatus opened = RocksDbChunkStore.Open(chunkPath, geometry, syncWrites: false, out RocksDbChunkStore? rocks, out var detail);
            if (opened != ChunkStatus.Ok)
            {
                return (null, $"chunk store {chunkPath}: {opened} {detail}");
            }

            store = rocks;
        }
        else
        {
            ChunkStatus opened = FileChunkStore.Open(chunkPath, geometry, out FileChunkStore? files);
            if (opened != ChunkStatus.Ok)
            {
                return (null, $"chunk store {chunkPath}: {opened}");
            }

            store = files;
        }

        var status = RaftLogEngine.Open(Path.Combine(config.DataDirectory, "raft"), out RaftLogEngine? engine, config.RaftLogFreeSpaceReserveBytes);
        if (!status.IsOk)
        {
            store!.Dispose();
            return (null, $"raft log: {status}");
        }

        StorageNodeOptions options = config.Options ?? new StorageNodeOptions { NodeId = config.NodeId };
        Invariant.Assert(options.NodeId == config.NodeId, "one node id");
        var host = new StorageNodeHost(options, store!, engine!, placement);
        string selfName = config.NodeId.ToString(CultureInfo.InvariantCulture);
        var peers = new PeerClients(placement);
        var transport = new RaftTransportClient(new RaftTransportOptions { LocalNodeId = selfName, TimeProvider = options.TimeProvider }, new PlacementAddressBook(placement), host);
        var executor = new StorageRequestExecutor(host, peers);
        var fetcher = new PgSnapshotFetcher(store!, peers, selfName);
        var server = new GrpcServer(new GrpcServerOptions { Endpoints = { config.Listen }, MaxReceiveMessageSize = 64 * 1024 * 1024 });
        server.AddService(Proto.V1.Storage.BindService(new StorageService(executor, host, options)));
        server.AddService(Proto.V1.RaftTransport.BindService(new RaftTransportService(selfName, host)));
        try
        {
            await server.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException exception)
        {
            await server.DisposeAsync().ConfigureAwait(false);
            await transport.DisposeAsync().ConfigureAwait(false);
            engine!.Dispose();
            store!.Dispose();
            return (null, $"listen {config.Listen}: {exception.Message}");
        }

        if (placement is StaticPlacementSource staticPlacement)
        {
            staticPlacement.SetAddress(config.NodeId, $"127.0.0.1:{server.Port}");
        }

        host.Start(transport, fetcher);
        return (new StorageNode(store!, engine!, host, peers, transport, server, executor, fetcher), null);
    }

    /// <summary>
    /// Stops the loop first (no more heartbeats, so followers elect a new leader at once; the loop syncs the
    /// log on its way out), then stops serving and closes the stores.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync().ConfigureAwait(false);
        await server.KillAsync().ConfigureAwait(false);
        await server.DisposeAsync().ConfigureAwait(false);
        await transport.DisposeAsync().ConfigureAwait(false);
        peers.Dispose();
        store.Flush();
        engine.Dispose();
        store.Dispose();
    }
}
