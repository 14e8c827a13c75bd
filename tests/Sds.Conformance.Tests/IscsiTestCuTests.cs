using System.Text.RegularExpressions;

namespace Sds.Conformance.Tests;

/// <summary>
/// Runs libiscsi's own iSCSI-layer conformance family (<c>iscsi-test-cu -t iSCSI</c>: CmdSN window,
/// DataSN checks, residuals) over two portals against the real server, and requires CUnit itself
/// to report no failed test — stricter than the scorer for iSCSIDataSnInvalid, whose expected
/// "[FAILED]" lines the full-run gate (<see cref="IscsiTestCuFullRunTests"/>) has to tolerate.
/// The multipath family is covered by that full run.
/// </summary>
public class IscsiTestCuTests : IAsyncLifetime
{
    private SdsServer _server = null!;

    public async Task InitializeAsync() => _server = await SdsServer.StartAsync(portals: 2);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [ToolTheory("iscsi-test-cu")]
    [InlineData("iSCSI")]
    public async Task FamilyPasses(string family)
    {
        Tools.Result result = await Tools.RunAsync("iscsi-test-cu", ["-d", "-t", family, _server.DemoUrl(0), _server.DemoUrl(1)], TimeSpan.FromMinutes(5));
        string log = result.StandardOutput + result.StandardError;
        Assert.False(result.TimedOut, "iscsi-test-cu hung:\n" + log);
        // CUnit run summary: "tests  <total>  <ran>  <passed>  <failed>  <inactive>".
        Match tests = Regex.Match(log, @"^\s*tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", RegexOptions.Multiline);
        Assert.True(tests.Success, "no CUnit summary:\n" + log);
        Assert.True(int.Parse(tests.Groups[2].Value) > 0, "no test ran:\n" + log);
        Assert.True(tests.Groups[4].Value == "0", "failed tests:\n" + log);
    }

    /// <summary>
    /// Four iscsi-test-cu processes each queue 1000 WRITE(10)s (or READ(10)s) and keep the CmdSN
    /// window full, against a server that runs every command off the read loop
    /// (SDS_ISCSI_INLINE_EXECUTION_BYTES_MAX=0), the path asynchronous devices always take: responders
    /// then queue on the sender with their window slots already given back. This is the sharpest
    /// reproducer of the issue #3 stall (one command rejected for want of a context, its CmdSN never
    /// consumed, every later command held): about one round in sixty stalled before the fix. Bounded:
    /// each run has two minutes, a stall fails the test.
    /// </summary>
    [ToolTheory("iscsi-test-cu")]
    [InlineData("SCSI.Write10.Async")]
    [InlineData("SCSI.Read10.Async")]
    public async Task ConcurrentAsyncRunsKeepTheWindowOpen(string test)
    {
        await using SdsServer server = await SdsServer.StartAsync(new Dictionary<string, string> { ["SDS_ISCSI_INLINE_EXECUTION_BYTES_MAX"] = "0" }, 2);
        for (int round = 0; round < 3; round++)
        {
            var runs = new List<Task<Tools.Result>>();
            for (int i = 0; i < 4; i++) runs.Add(Tools.RunAsync("iscsi-test-cu", ["-d", "-t", test, server.DemoUrl(i % 2)], TimeSpan.FromMinutes(2)));
            foreach (Tools.Result result in await Task.WhenAll(runs))
            {
                string log = result.StandardOutput + result.StandardError;
                if (result.TimedOut) Assert.Fail($"iscsi-test-cu {test} hung (round {round}); target state:\n{await server.DumpStateAsync()}\n{log}");
                Assert.Matches(new Regex(@"^\s*tests\s+1\s+1\s+1\s+0", RegexOptions.Multiline), log);
            }
        }
    }
}
