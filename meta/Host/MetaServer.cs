using Microsoft.Extensions.Logging;
using Sds.Meta.Api;
using Sds.Proto.V1;
using Sds.Raft.Transport;
using Sds.Rpc;

namespace Sds.Meta.Host;

/// <summary>
/// A runnable meta member: the Raft host (<see cref="MetaNode"/>), its transport, and one
/// <see cref="GrpcServer"/> listening on the peer address (Raft + API) and on the optional API endpoint,
/// serving <c>RaftTransport</c>, <c>Management</c>, <c>Cluster</c>, health and reflection.
/// </summary>
internal sealed class MetaServer : IAsyncDisposable
{
    private readonly MetaRaftTransport transport;
    private readonly GrpcServer server;
    private readonly CancellationTokenSource stopping = new();
    private Task rejoin = Task.CompletedTask;

    private MetaServer(MetaNode node, MetaRaftTransport transport, GrpcServer server)
    {
        Node = node;
        this.transport = transport;
        this.server = server;
    }

    /// <summary>The Raft member.</summary>
    public MetaNode Node { get; }

    /// <summary>Addresses the gRPC server listens on (peer first).</summary>
    public IReadOnlyList<Uri> Addresses => server.Addresses;

    /// <summary>Opens the log, binds the endpoints and starts the member.</summary>
    public static async Task<MetaServer> StartAsync(MetaServerOptions options, ILoggerFactory? loggerFactory, CancellationToken cancellationToken)
    {
        var transport = new MetaRaftTransport(options.Id, options.Peers);
        MetaNodeOptions nodeOptions = options.Node;
        var node = new MetaNode(nodeOptions, transport, loggerFactory);
        transport.Attach(node);
        var serverOptions = new GrpcServerOptions
        {
            LoggerFactory = loggerFactory,
            // Snapshots travel whole in one Raft message (raft/README.md); the transport sends up to 64 MiB.
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        };
        serverOptions.Endpoints.Add(options.Peers[options.Id]);

        if (options.ApiEndpoint is not null && options.ApiEndpoint != options.Peers[options.Id])
        {
            serverOptions.Endpoints.Add(options.ApiEndpoint);
        }

        var server = new GrpcServer(serverOptions);
        var edge = new MetaApiEdge(node, options.Peers);
        server.AddService(Management.BindService(new ManagementService(edge)));
        server.AddService(Cluster.BindService(new ClusterService(edge, nodeOptions.NodeDownTimeout)));
        server.AddService(RaftTransport.BindService(new RaftTransportService(MetaRaftTransport.Name(options.Id), transport)));
        try
        {
            await server.StartAsync(cancellationToken);
        }
        catch
        {
            await node.DisposeAsync();
            await transport.DisposeAsync();
            await server.DisposeAsync();
            throw;
        }

        node.Start();
        var metaServer = new MetaServer(node, transport, server);
        if (node.StartedEmpty && options.Peers.Count > 1)
        {
            ILogger logger = (loggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger("Sds.Meta");
            metaServer.rejoin = RejoinRequester.RunAsync(node, options.Peers, nodeOptions.Time, logger, metaServer.stopping.Token);
        }

        return metaServer;
    }

    /// <summary>Stops serving, then stops the member and closes its log.</summary>
    public async ValueTask DisposeAsync()
    {
        stopping.Cancel();
        await rejoin;
        stopping.Dispose();
        await server.StopAsync();
        await server.DisposeAsync();
        await transport.DisposeAsync();
        await Node.DisposeAsync();
    }
}
