using System.Diagnostics;
using Grpc.Core;
using Sds.Meta.Client;
using Sds.Meta.Tests.Cli;
using Sds.Proto.V1;
using Sds.Rpc;
using Xunit.Abstractions;

namespace Sds.Meta.Tests.Failover;

/// <summary>
/// Three real <c>sds meta</c> processes on loopback. Goal: no acknowledged write is lost when the leader is
/// killed with SIGKILL mid-load, the survivors elect a leader quickly (measured and printed), a restarted member
/// catches up from the log, and a member whose data directory was deleted rejoins through a snapshot (the log is
/// compacted after every 200 entries with no lag kept, so nothing else can bring it up to date).
/// Method: a client creates 1,000 volumes in a loop, killing the leader at the 300th; every call that returned OK
/// must be listed afterwards. Catch-up is observed with WatchClusterMap on the member itself (a local read).
/// </summary>
public sealed class ThreeMemberFailoverTests : IDisposable
{
    private const int VolumeCount = 1_000;
    private const int KillAt = 300;
    private static readonly TimeSpan TestBudget = TimeSpan.FromMinutes(4);
    private readonly ITestOutputHelper output;
    private readonly MetaProcesses meta = new("sds-meta-cluster");

    public ThreeMemberFailoverTests(ITestOutputHelper output)
    {
        this.output = output;
    }

    [Fact]
    public async Task AcknowledgedWritesSurviveLeaderKillAndMembersRejoin()
    {
        using var budget = new CancellationTokenSource(TestBudget);
        for (int id = 1; id <= 3; id++) StartMember(id);
        using var client = new MetaClient(meta.Addresses) { Timeout = TimeSpan.FromSeconds(30) };
        ClusterStatus status = await client.ManagementAsync((c, h, d, t) => c.GetClusterStatusAsync(new GetClusterStatusRequest(), h, d, t), budget.Token);
        output.WriteLine($"initial leader {status.MetaLeaderNodeId}");

        var acknowledged = new List<string>();
        int failed = 0;
        int killed = 0;
        long killedAt = 0;
        TimeSpan? failover = null;
        for (int i = 0; i < VolumeCount; i++)
        {
            if (i == KillAt)
            {
                status = await client.ManagementAsync((c, h, d, t) => c.GetClusterStatusAsync(new GetClusterStatusRequest(), h, d, t), budget.Token);
                killed = int.Parse(status.MetaLeaderNodeId["meta-".Length..], System.Globalization.CultureInfo.InvariantCulture);
                meta.Member(killed)!.Kill(); // SIGKILL: no shutdown, no flush beyond what was fsynced
                killedAt = Stopwatch.GetTimestamp();
                output.WriteLine($"killed leader meta-{killed} after {i} creates");
            }

            string name = $"v{i:0000}";
            try
            {
                await client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = name, SizeBytes = 1 << 20 }, h, d, t), budget.Token);
                acknowledged.Add(name);
                if (killedAt != 0 && failover is null)
                {
                    failover = Stopwatch.GetElapsedTime(killedAt);
                }
            }
            catch (RpcException exception)
            {
                failed++;
                output.WriteLine($"{name}: {exception.StatusCode} {exception.Status.Detail}");
            }
        }

        Assert.NotNull(failover);
        string report = $"meta failover: first write acknowledged {failover.Value.TotalMilliseconds:0} ms after SIGKILL of the leader; {acknowledged.Count} acknowledged, {failed} failed";
        output.WriteLine(report);
        Console.WriteLine(report);
        Assert.True(acknowledged.Count >= VolumeCount - 5, $"almost every call succeeds through failover ({failed} failed)");

        HashSet<string> listed = await ListVolumeNames(client, budget.Token);
        Assert.All(acknowledged, name => Assert.Contains(name, listed));
        ulong version = (await client.ManagementAsync((c, h, d, t) => c.GetClusterStatusAsync(new GetClusterStatusRequest(), h, d, t), budget.Token)).ClusterMapVersion;

        // The killed member restarts from its own log and catches up.
        StartMember(killed);
        TimeSpan caughtUp = await WaitForVersion(killed, version, budget.Token);
        output.WriteLine($"restarted meta-{killed} caught up to version {version} in {caughtUp.TotalMilliseconds:0} ms");

        // A member that lost its data directory rejoins; the log it would need is compacted, so only a snapshot helps.
        int wiped = killed == 3 ? 2 : 3;
        meta.Member(wiped)!.Kill();
        await meta.Member(wiped)!.WaitForExitAsync(budget.Token);
        Directory.Delete(meta.DataDirectory(wiped), recursive: true);
        await client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "after-wipe", SizeBytes = 1 << 20 }, h, d, t), budget.Token);
        version = (await client.ManagementAsync((c, h, d, t) => c.GetClusterStatusAsync(new GetClusterStatusRequest(), h, d, t), budget.Token)).ClusterMapVersion;
        StartMember(wiped);
        TimeSpan rejoined = await WaitForVersion(wiped, version, budget.Token);
        output.WriteLine($"wiped meta-{wiped} rejoined at version {version} in {rejoined.TotalMilliseconds:0} ms");
        string log = await File.ReadAllTextAsync(meta.LogPath(wiped), budget.Token);
        foreach (string line in log.Split('\n').Where(l => l.Contains("Sds.Meta", StringComparison.Ordinal))) output.WriteLine($"meta-{wiped}: {line}");
        Assert.Contains("installed snapshot", log, StringComparison.Ordinal);
    }

    public void Dispose() => meta.Dispose();

    private void StartMember(int id) => meta.Start(id, "--snapshot-threshold", "200", "--compaction-lag", "0");

    /// <summary>Watches the member's own (local) view until it reaches <paramref name="version"/>.</summary>
    private static async Task<TimeSpan> WaitForVersion(string address, ulong version, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        for (int attempt = 0; attempt < 600; attempt++)
        {
            try
            {
                using var channel = GrpcChannel.ForAddress("http://" + address);
                var cluster = new Proto.V1.Cluster.ClusterClient(channel);
                using var call = cluster.WatchClusterMap(new WatchClusterMapRequest { NodeId = "test" }, cancellationToken: cancellationToken);
                while (await call.ResponseStream.MoveNext(cancellationToken))
                {
                    if (call.ResponseStream.Current.Version >= version)
                    {
                        return Stopwatch.GetElapsedTime(started);
                    }
                }
            }
            catch (RpcException exception) when (exception.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Aborted)
            {
                await Task.Delay(200, cancellationToken); // not listening yet
            }
        }

        throw new TimeoutException($"{address} did not reach version {version}");
    }

    private Task<TimeSpan> WaitForVersion(int id, ulong version, CancellationToken cancellationToken) => WaitForVersion(meta.Address(id), version, cancellationToken);

    private static async Task<HashSet<string>> ListVolumeNames(MetaClient client, CancellationToken cancellationToken)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        string token = string.Empty;
        for (int page = 0; page < 100; page++)
        {
            var request = new ListVolumesRequest { PageSize = 1000, PageToken = token };
            ListVolumesResponse response = await client.ManagementAsync((c, h, d, t) => c.ListVolumesAsync(request, h, d, t), cancellationToken);
            foreach (Volume volume in response.Volumes) names.Add(volume.Name);
            token = response.NextPageToken;
            if (token.Length == 0) break;
        }

        return names;
    }
}
