using Sds.Meta.Client;
using Sds.Proto.V1;

namespace Sds.Meta.Tests.Cli;

/// <summary>
/// An admin command given only a meta follower's address reaches the leader through the NOT_LEADER hint (the
/// <c>sds-leader-address</c> trailer). Method: three real <c>sds meta</c> processes on loopback; the leader is found
/// through all three addresses, then every admin call (a linearizable read — status, list — and a write — create)
/// is made with <c>--api</c> naming one follower alone. Before the fix a follower forwarded the read to the leader
/// and never answered (exit 3, "no meta leader reachable … Deadline Exceeded").
/// </summary>
public sealed class FollowerAddressTests : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private readonly MetaProcesses meta = new("sds-meta-follower");

    [Fact]
    public async Task AdminCommandsGivenOnlyAFollowerFollowTheLeaderHint()
    {
        for (int id = 1; id <= 3; id++) meta.Start(id);

        using var budget = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using var client = new MetaClient(meta.Addresses) { Timeout = TimeSpan.FromSeconds(60) };
        ClusterStatus status = await client.ManagementAsync((c, h, d, t) => c.GetClusterStatusAsync(new GetClusterStatusRequest(), h, d, t), budget.Token);
        int leader = int.Parse(status.MetaLeaderNodeId["meta-".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(leader, 1, 3);

        foreach (int follower in Enumerable.Range(1, 3).Where(id => id != leader))
        {
            string api = meta.Address(follower);
            // --timeout 10: well under the command timeout, so a hang shows as exit 3, not as a killed process.
            (int exit, string stdout, string stderr) = await SdsProcess.RunAsync(CommandTimeout, "status", "--api", api, "--timeout", "10");
            Assert.True(exit == 0, $"status via follower meta-{follower}: exit {exit}: {stderr}");
            Assert.Contains($"meta-{leader}", stdout, StringComparison.Ordinal);

            string volume = $"via-follower-{follower}";
            (exit, _, stderr) = await SdsProcess.RunAsync(CommandTimeout, "volume", "create", volume, "--size", "1MiB", "--api", api, "--timeout", "10");
            Assert.True(exit == 0, $"volume create via follower meta-{follower}: exit {exit}: {stderr}");
            (exit, stdout, stderr) = await SdsProcess.RunAsync(CommandTimeout, "volume", "list", "--api", api, "--timeout", "10");
            Assert.True(exit == 0, $"volume list via follower meta-{follower}: exit {exit}: {stderr}");
            Assert.Contains(volume, stdout, StringComparison.Ordinal);
            (exit, stdout, stderr) = await SdsProcess.RunAsync(CommandTimeout, "node", "list", "--api", api, "--timeout", "10");
            Assert.True(exit == 0, $"node list via follower meta-{follower}: exit {exit}: {stderr}");
        }
    }

    public void Dispose() => meta.Dispose();
}
