using Microsoft.Extensions.Logging;
using Sds.Meta.Host;
using Sds.Meta.State;
using Sds.Proto.V1;

namespace Sds.Cli;

/// <summary>
/// The meta role of <c>sds server</c> (DESIGN.md §7): a one-member meta group under DATA/meta with replicas=1,
/// serving Management + Cluster (+ health, reflection) on --api, and this process registered as its one
/// storage + gateway node, kept alive by in-process heartbeats (no socket between co-located parts).
/// </summary>
internal sealed class EmbeddedMeta : IAsyncDisposable
{
    /// <summary>Node id of the all-in-one process in the cluster map.</summary>
    public const string LocalNodeId = "local";

    /// <summary>Default API endpoint.</summary>
    public const string DefaultApi = "127.0.0.1:7070";

    private readonly ITimer heartbeat;

    private EmbeddedMeta(MetaServer server)
    {
        Server = server;
        heartbeat = TimeProvider.System.CreateTimer(static s => ((MetaServer)s!).Node.Detector.Heard(LocalNodeId), server, TimeSpan.Zero, TimeSpan.FromSeconds(1));
    }

    /// <summary>The running member.</summary>
    public MetaServer Server { get; }

    /// <summary>Starts the member and registers this process; null (after printing why) when it cannot.</summary>
    public static async Task<EmbeddedMeta?> StartAsync(string dataDirectory, string? api, IReadOnlyList<string> portals, ILoggerFactory loggerFactory)
    {
        string endpoint = api ?? DefaultApi;
        MetaServer server;
        try
        {
            server = await MetaServer.StartAsync(new MetaServerOptions
            {
                Id = 1,
                Peers = new Dictionary<ulong, string> { [1] = endpoint },
                ApiEndpoint = endpoint,
                Node = new MetaNodeOptions { Id = 1, Voters = [1], DataDirectory = Path.Combine(dataDirectory, "meta"), DefaultReplicas = 1 },
            }, loggerFactory, CancellationToken.None);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Console.Error.WriteLine($"sds: cannot start the management API on {endpoint}: {exception.Message.ReplaceLineEndings(" ")}");
            return null;
        }

        var register = new RegisterNodeRequest { NodeId = LocalNodeId, GrpcAddress = endpoint, IscsiPortal = portals.Count > 0 ? portals[0] : string.Empty, Version = "0.1" };
        register.Roles.Add([NodeRole.Storage, NodeRole.Gateway, NodeRole.Meta]);
        try
        {
            register.CapacityBytes = (ulong)new DriveInfo(Path.GetFullPath(dataDirectory)).TotalSize;
        }
        catch (Exception exception) when (exception is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // Capacity is informational here; the node registers without it.
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string registration = "register-local-" + Guid.NewGuid().ToString("N");
        for (int attempt = 0; attempt < 300 && !timeout.IsCancellationRequested; attempt++)
        {
            // A fresh id per start: each start re-registers (address, capacity), but retries of this start apply once.
            var command = new MetaCommand { RequestId = registration, RegisterNode = new RegisterNodeCommand { Request = register } };
            try
            {
                MetaResult<CommandOutcome> result = await server.Node.ProposeAsync(command, timeout.Token);
                if (result.Status == MetaCallStatus.Ok)
                {
                    break;
                }

                await Task.Delay(100, timeout.Token); // the one member is still electing itself
            }
            catch (OperationCanceledException)
            {
                // Serve anyway: the node shows as unregistered until the next start, which status makes visible.
                loggerFactory.CreateLogger("sds").LogWarning("could not register this node in meta within 30 s");
            }
        }

        return new EmbeddedMeta(server);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        heartbeat.Dispose();
        await Server.DisposeAsync();
    }
}
