using Sds.Storage.Client;
using Sds.Storage.Placement;
using Sds.Testing;

namespace Sds.Conformance.Tests.Cluster;

/// <summary>
/// Three real <c>sds storage</c> processes on free loopback ports with static placement (replicas = 3), and a
/// <see cref="StorageClient"/> over the same placement, as a gateway has. Every process is killed on dispose.
/// </summary>
public sealed class StorageCluster : IAsyncLifetime
{
    /// <summary>PGs of the test cluster: few, so a handful of chunks covers every PG.</summary>
    public const int Pgs = 8;

    private readonly string directory = Path.Combine(Path.GetTempPath(), "sds-cluster-" + Guid.NewGuid().ToString("N"));

    /// <summary>Node id → address.</summary>
    public Dictionary<ulong, string> Peers { get; } = [];

    /// <summary>Node id → process.</summary>
    public Dictionary<ulong, ClusterProcess> Nodes { get; } = [];

    /// <summary>The placement every node and the client use.</summary>
    public StaticPlacementSource Placement { get; private set; } = null!;

    /// <summary>A client with a 30 s request budget (elections on a loaded 2-core machine).</summary>
    public StorageClient Client { get; private set; } = null!;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        for (ulong id = 1; id <= 3; id++) Peers[id] = $"127.0.0.1:{TestPorts.Free()}";
        Task<ClusterProcess>[] starting = Peers.Keys.Select(id => ClusterProcess.StartStorageAsync(id, Peers, Path.Combine(directory, "n" + id), Pgs, 3)).ToArray();
        foreach ((ulong id, ClusterProcess process) in Peers.Keys.Zip(await Task.WhenAll(starting))) Nodes[id] = process;
        Placement = new StaticPlacementSource(Peers, Pgs, 3);
        Client = NewClient(TimeSpan.FromSeconds(30));
    }

    /// <summary>A further client over the same placement.</summary>
    public StorageClient NewClient(TimeSpan requestTimeout) => new(Placement, new StorageClientOptions { RequestTimeout = requestTimeout });

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await Client.DisposeAsync();
        foreach (ClusterProcess node in Nodes.Values) node.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
