using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Sds.Meta.Client;
using Sds.Meta.Host;
using Sds.Proto.V1;
using Sds.Testing;

namespace Sds.Meta.Tests.Client;

/// <summary>
/// ClusterMapMirror against a real meta member over gRPC (full map, deltas, a dead address in the list, the member
/// restarted on the same port), and its delta bookkeeping against a scripted event source (a gap forces a full map).
/// </summary>
public sealed class ClusterMapMirrorTests : IAsyncLifetime
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);
    private readonly string directory = Path.Combine(Path.GetTempPath(), "sds-mirror-test-" + Guid.NewGuid().ToString("N"));
    private readonly int port = TestPorts.Free();
    private MetaServer? server;

    private string Address => $"127.0.0.1:{port}";

    public async Task InitializeAsync() => server = await StartServerAsync();

    public async Task DisposeAsync()
    {
        if (server is not null) await server.DisposeAsync();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task FollowsCreatesAndSurvivesAMemberRestart()
    {
        using var budget = new CancellationTokenSource(Budget);
        using var client = new MetaClient([Address]) { Timeout = TimeSpan.FromSeconds(20) };
        string deadAddress = $"127.0.0.1:{TestPorts.Free()}";
        await using ClusterMapMirror mirror = ClusterMapMirror.Remote([deadAddress, Address], "test-watcher").Start();
        var seen = new List<ulong>();
        mirror.Changed += map => { lock (seen) seen.Add(map.Version); };

        Volume first = await client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "m1", SizeBytes = 1 << 20 }, h, d, t), budget.Token);
        ulong afterFirst = (await MapAsync(client, budget.Token)).Version;
        await mirror.WaitForVersionAsync(afterFirst, budget.Token);
        Assert.Contains(mirror.Current.Volumes, v => v.Id == first.Id);

        await client.ManagementAsync((c, h, d, t) => c.CreateTargetAsync(new CreateTargetRequest { Target = new Target { Iqn = "iqn.2026-11.io.sds:mirror" } }, h, d, t), budget.Token);
        await client.ManagementAsync((c, h, d, t) => c.MapLunAsync(new MapLunRequest { TargetIqn = "iqn.2026-11.io.sds:mirror", Lun = 3, Volume = "m1" }, h, d, t), budget.Token);
        ClusterMap truth = await MapAsync(client, budget.Token);
        await mirror.WaitForVersionAsync(truth.Version, budget.Token);
        AssertSameMap(truth, mirror.Current);

        // Restart the member on the same port and data directory: the mirror reconnects and catches up.
        await server!.DisposeAsync();
        server = null;
        server = await StartServerAsync();
        Volume second = await client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "m2", SizeBytes = 1 << 20 }, h, d, t), budget.Token);
        truth = await MapAsync(client, budget.Token);
        await mirror.WaitForVersionAsync(truth.Version, budget.Token);
        Assert.Contains(mirror.Current.Volumes, v => v.Id == second.Id);
        AssertSameMap(truth, mirror.Current);
        lock (seen)
        {
            Assert.Equal(seen.OrderBy(static v => v), seen); // versions only move forward
        }
    }

    [Fact]
    public async Task ADeltaGapAsksForAFullMapAndKeepsTheHeldOne()
    {
        using var budget = new CancellationTokenSource(Budget);
        var asked = Channel.CreateUnbounded<ulong>();
        var scripts = new Queue<ClusterMapEvent[]>(
        [
            [
                new ClusterMapEvent { Version = 1, Full = new ClusterMap { Version = 1, PgCount = 4, Volumes = { new Volume { Id = "a", Name = "a" } } } },
                new ClusterMapEvent { Version = 2, Delta = new ClusterMapDelta { BaseVersion = 1, UpsertedVolumes = { new Volume { Id = "b", Name = "b" } } } },
                new ClusterMapEvent { Version = 7, Delta = new ClusterMapDelta { BaseVersion = 6, RemovedVolumeIds = { "a" } } },
            ],
            [
                new ClusterMapEvent { Version = 7, Full = new ClusterMap { Version = 7, PgCount = 4, Volumes = { new Volume { Id = "b", Name = "b" } } } },
            ],
        ]);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async IAsyncEnumerable<ClusterMapEvent> Source(ulong known, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await asked.Writer.WriteAsync(known, cancellationToken);
            if (!scripts.TryDequeue(out ClusterMapEvent[]? events))
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
                yield break;
            }

            foreach (ClusterMapEvent e in events)
            {
                if (e.Version == 7 && e.Full is not null) await release.Task.WaitAsync(cancellationToken);
                yield return e;
            }

            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        await using var mirror = new ClusterMapMirror(Source).Start();
        Assert.Equal(0UL, await asked.Reader.ReadAsync(budget.Token));
        await mirror.WaitForVersionAsync(2, budget.Token);
        Assert.Equal(0UL, await asked.Reader.ReadAsync(budget.Token)); // the gap made it ask for a full map
        Assert.Equal(2UL, mirror.Current.Version); // meanwhile readers keep the last good map
        Assert.Equal(["a", "b"], mirror.Current.Volumes.Select(static v => v.Id).Order());
        release.SetResult();
        await mirror.WaitForVersionAsync(7, budget.Token);
        Assert.Equal(["b"], mirror.Current.Volumes.Select(static v => v.Id));
    }

    private static void AssertSameMap(ClusterMap expected, ClusterMap actual)
    {
        Assert.Equal(expected.Volumes.OrderBy(static v => v.Id).Select(static v => v.ToString()), actual.Volumes.OrderBy(static v => v.Id).Select(static v => v.ToString()));
        Assert.Equal(expected.Targets.OrderBy(static t => t.Iqn).Select(static t => t.ToString()), actual.Targets.OrderBy(static t => t.Iqn).Select(static t => t.ToString()));
        Assert.Equal(expected.PlacementGroups.OrderBy(static g => g.Id).Select(static g => g.ToString()), actual.PlacementGroups.OrderBy(static g => g.Id).Select(static g => g.ToString()));
        Assert.Equal(expected.PgCount, actual.PgCount);
    }

    private static Task<ClusterMap> MapAsync(MetaClient client, CancellationToken cancellationToken) =>
        client.ClusterAsync((c, h, d, t) => c.GetClusterMapAsync(new GetClusterMapRequest(), h, d, t), cancellationToken);

    private Task<MetaServer> StartServerAsync() => MetaServer.StartAsync(new MetaServerOptions
    {
        Id = 1,
        Peers = new Dictionary<ulong, string> { [1] = Address },
        Node = new MetaNodeOptions { Id = 1, Voters = [1], DataDirectory = directory, DefaultReplicas = 1, PgCount = 8 },
    }, null, CancellationToken.None);
}
