using Sds.Meta.Client;
using Sds.Meta.Host;
using Sds.Proto.V1;

namespace Sds.Meta.Tests.Api;

/// <summary>
/// A real one-member meta (MetaServer: Raft on a synced file log, GrpcServer on a free loopback port) seeded
/// with volume "db1" (1 GiB) mapped as LUN 0 of target iqn.2026-11.io.sds:t1.
/// </summary>
public sealed class SingleMemberFixture : IAsyncLifetime
{
    /// <summary>The seeded target.</summary>
    public const string TargetIqn = "iqn.2026-11.io.sds:t1";

    private readonly string directory = Path.Combine(Path.GetTempPath(), "sds-meta-test-" + Guid.NewGuid().ToString("N"));
    private MetaServer? server;

    /// <summary>host:port of the API.</summary>
    public string Address { get; private set; } = string.Empty;

    internal MetaClient Client { get; private set; } = null!;

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        server = await MetaServer.StartAsync(new MetaServerOptions
        {
            Id = 1,
            Peers = new Dictionary<ulong, string> { [1] = "127.0.0.1:0" },
            Node = new MetaNodeOptions { Id = 1, Voters = [1], DataDirectory = directory, DefaultReplicas = 1, PgCount = 8 },
        }, null, CancellationToken.None);
        Address = server.Addresses[0].Authority;
        Client = new MetaClient([Address]) { Timeout = TimeSpan.FromSeconds(20) };
        await Client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "db1", SizeBytes = 1 << 30 }, h, d, t));
        await Client.ManagementAsync((c, h, d, t) => c.CreateTargetAsync(new CreateTargetRequest { Target = new Target { Iqn = TargetIqn } }, h, d, t));
        await Client.ManagementAsync((c, h, d, t) => c.MapLunAsync(new MapLunRequest { TargetIqn = TargetIqn, Lun = 0, Volume = "db1" }, h, d, t));
    }

    /// <summary>The whole cluster map, to compare before and after a refused call.</summary>
    public Task<ClusterMap> MapAsync() => Client.ClusterAsync((c, h, d, t) => c.GetClusterMapAsync(new GetClusterMapRequest(), h, d, t));

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (server is not null) await server.DisposeAsync();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
