using Microsoft.Extensions.Logging;
using Sds.Meta.Host;

namespace Sds.Cli;

/// <summary>
/// The meta role of <c>sds server</c> (DESIGN.md §7): a one-member meta group under DATA/meta with replicas=1,
/// serving Management + Cluster (+ health, reflection) on --api. The co-located storage node and gateway register
/// and heartbeat like any other node; they read the map from this member in process.
/// </summary>
internal sealed class EmbeddedMeta : IAsyncDisposable
{
    /// <summary>Default API endpoint.</summary>
    public const string DefaultApi = "127.0.0.1:7070";

    private EmbeddedMeta(MetaServer server, string endpoint)
    {
        Server = server;
        Endpoint = endpoint;
    }

    /// <summary>The running member.</summary>
    public MetaServer Server { get; }

    /// <summary>The API endpoint (host:port) the co-located parts register through.</summary>
    public string Endpoint { get; }

    /// <summary>Starts the member; null (after printing why) when it cannot.</summary>
    public static async Task<EmbeddedMeta?> StartAsync(string dataDirectory, string? api, ILoggerFactory loggerFactory)
    {
        string endpoint = api ?? DefaultApi;
        try
        {
            MetaServer server = await MetaServer.StartAsync(new MetaServerOptions
            {
                Id = 1,
                Peers = new Dictionary<ulong, string> { [1] = endpoint },
                ApiEndpoint = endpoint,
                Node = new MetaNodeOptions { Id = 1, Voters = [1], DataDirectory = Path.Combine(dataDirectory, "meta"), DefaultReplicas = 1 },
            }, loggerFactory, CancellationToken.None);
            return new EmbeddedMeta(server, endpoint);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Console.Error.WriteLine($"sds: cannot start the management API on {endpoint}: {exception.Message.ReplaceLineEndings(" ")}");
            return null;
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
