using Xunit.Abstractions;

namespace Sds.Conformance.Tests.Cluster;

/// <summary>
/// The CI gate of issue #7: <c>iscsi-test-cu -d -v URL_GATEWAY_A URL_GATEWAY_B</c> against deploy/local (3 meta,
/// 3 storage nodes, 2 gateways, replicas 3), scored like the single-process gate
/// (<see cref="IscsiTestCuFullRunTests"/>) but against its own lists, iscsi-test-cu.cluster-known-*.txt: every
/// failure or skip there is explained, and the recorded minimum must pass. A regression in the multipath,
/// reservation or unit-attention tests across two gateways fails CI.
/// </summary>
public sealed class ClusterIscsiTestCuTests(ITestOutputHelper output)
{
    [ToolFact("iscsi-test-cu", "iscsi-inq")]
    public async Task FullRunThroughTwoGatewaysMeetsTheRecordedScore()
    {
        await using LocalCluster cluster = await LocalCluster.StartAsync();
        await IscsiTestCuFullRunTests.RunAndScoreAsync(["-d", "-v", cluster.Urls[0], cluster.Urls[1]], () => DumpAsync(cluster), () => Logs(cluster),
            "iscsi-test-cu.cluster-known-failures.txt", "iscsi-test-cu.cluster-known-skips.txt", output);
    }

    // On a stall: the storage nodes print their PGs' Raft state (SIGQUIT) into their logs, which Logs then shows.
    private static async Task<string> DumpAsync(LocalCluster cluster)
    {
        foreach (string node in new[] { "storage-1", "storage-2", "storage-3" })
            await Tools.RunAsync("kill", ["-QUIT", cluster.Pid(node).ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(2));
        return "(storage nodes' Raft state: SIGQUIT dumps in their logs below)";
    }

    private static string Logs(LocalCluster cluster) =>
        string.Join("\n", Directory.GetFiles(cluster.State, "*.log").Order().Select(log =>
            $"---- {Path.GetFileName(log)} (last 200 lines)\n{string.Join('\n', File.ReadLines(log).TakeLast(200))}"));
}
