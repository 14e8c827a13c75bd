using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Sds.Conformance.Tests;

/// <summary>
/// The CI gate of issue #3: the full <c>iscsi-test-cu -d -v URL1 URL2</c> run against the real
/// <c>sds server --demo</c> on two portals, scored by shared/tools/cu_score.py when it is beside
/// the repository (else by <see cref="CuScore"/>, the same rules in C#). The run fails when fewer
/// tests pass than the recorded minimum, or when any test fails, stays unfinished or is skipped
/// without an entry in iscsi-test-cu.known-failures.txt / iscsi-test-cu.known-skips.txt — so a
/// regression anywhere in the 230 tests fails CI, and a fixed test shows up as an entry to remove.
/// </summary>
public class IscsiTestCuFullRunTests : IAsyncLifetime
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(20);
    // A whole run takes about 75 s here; no test is silent for minutes unless it waits for a
    // response that never comes (libiscsi's async tests poll without a timeout).
    private static readonly TimeSpan StallTimeout = TimeSpan.FromMinutes(3);
    private readonly ITestOutputHelper _output;
    private SdsServer _server = null!;

    /// <summary>Receives xunit's output sink.</summary>
    public IscsiTestCuFullRunTests(ITestOutputHelper output) => _output = output;

    /// <inheritdoc />
    public async Task InitializeAsync() => _server = await SdsServer.StartAsync(portals: 2);

    /// <inheritdoc />
    public async Task DisposeAsync() => await _server.DisposeAsync();

    // Always on (issue #3): the Write10/Read10.Async stall (a rejected command's CmdSN left open) and the
    // PreventAllow.ITNexusLoss flake (a relogin outrunning the old connection's cleanup) are fixed;
    // docs/decisions.md "iSCSI ordering fixes". A stall still fails the run after StallTimeout, with
    // the target's state dump and ss -tnpi in the kept log.
    [ToolFact("iscsi-test-cu")]
    public async Task FullRunMeetsTheRecordedScore() =>
        await RunAndScoreAsync(["-d", "-v", _server.DemoUrl(0), _server.DemoUrl(1)], _server.DumpStateAsync, () => _server.Output,
            "iscsi-test-cu.known-failures.txt", "iscsi-test-cu.known-skips.txt", _output);

    /// <summary>
    /// One gate run: iscsi-test-cu with <paramref name="arguments"/> under the stall watchdog, scored, and held to
    /// the known lists (every non-pass listed, at least the recorded minimum passed). The log is kept in the
    /// temporary directory only when the gate fails; <paramref name="dumpState"/> and <paramref name="targetOutput"/>
    /// add the target's side to it on a stall.
    /// </summary>
    internal static async Task RunAndScoreAsync(string[] arguments, Func<Task<string>> dumpState, Func<string> targetOutput,
        string knownFailuresFile, string knownSkipsFile, ITestOutputHelper output)
    {
        var clock = Stopwatch.StartNew();
        (string log, string? stalled) = await RunWatchedAsync(arguments, dumpState);
        string logPath = Path.Combine(Path.GetTempPath(), $"sds-iscsi-test-cu-{Environment.ProcessId}-{Guid.NewGuid():N}.log");
        await File.WriteAllTextAsync(logPath, log);
        if (stalled is not null) await File.AppendAllTextAsync(logPath, "\n==== target output ====\n" + targetOutput());
        Assert.True(stalled is null, $"iscsi-test-cu {stalled}; last lines:\n{LastLinesBeforeStall(log)}\nlog (with ss -tnpi, the target's state dump and its output): {logPath}");

        (SortedDictionary<string, CuScore.Outcome> results, string scorer) = await ScoreAsync(logPath, log);
        string summary = CuScore.Summary(results);
        output.WriteLine($"{summary} (scored by {scorer}; iscsi-test-cu ran {clock.Elapsed.TotalSeconds:F0} s)");
        foreach ((string test, CuScore.Outcome outcome) in results)
            if (outcome != CuScore.Outcome.Passed) output.WriteLine($"{outcome.ToString().ToLowerInvariant()} {test}");

        KnownList failures = KnownList.Load(knownFailuresFile);
        KnownList skips = KnownList.Load(knownSkipsFile);
        var unexpected = new List<string>();
        foreach ((string test, CuScore.Outcome outcome) in results)
        {
            bool known = outcome switch
            {
                CuScore.Outcome.Passed => true,
                CuScore.Outcome.Skipped => skips.Tests.Contains(test) || failures.Tests.Contains(test),
                _ => failures.Tests.Contains(test),
            };
            if (!known) unexpected.Add($"{outcome.ToString().ToLowerInvariant()} {test}");
        }
        int passed = results.Values.Count(outcome => outcome == CuScore.Outcome.Passed);
        Assert.True(results.Count > 0, "no test was scored:\n" + log);
        Assert.True(unexpected.Count == 0, $"{summary}: not in {knownFailuresFile}/{knownSkipsFile}:\n  {string.Join("\n  ", unexpected)}\nlog: {logPath}");
        Assert.True(passed >= failures.MinimumPassed, $"{summary}: fewer than the recorded minimum of {failures.MinimumPassed} passed; log: {logPath}");
        // The log is kept only when the gate fails (its path is in the failure message).
        File.Delete(logPath);
    }

    [Fact]
    public void PortScoresLikeTheScript()
    {
        // The rules the port must share with cu_score.py: worst result wins across repeats, any
        // "FAILED" fails, "[SKIPPED]" skips, a test without "passed" stays unfinished.
        string[] log =
        [
            "Suite: Alpha",
            "  Test: One ...passed",
            "  Test: Two ...    [SKIPPED] not removable",
            "passed",
            "  Test: Three ...    [FAILED] PRIN command: failed",
            "passed",
            "Suite: Beta",
            "  Test: Hang ...",
            "Suite: Alpha",
            "  Test: One ...    [FAILED] second run",
            "passed",
        ];
        SortedDictionary<string, CuScore.Outcome> results = CuScore.Score(log);
        Assert.Equal(CuScore.Outcome.Failed, results["Alpha.One"]);
        Assert.Equal(CuScore.Outcome.Skipped, results["Alpha.Two"]);
        Assert.Equal(CuScore.Outcome.Failed, results["Alpha.Three"]);
        Assert.Equal(CuScore.Outcome.Running, results["Beta.Hang"]);
        Assert.Equal("tests=4 passed=0 skipped=1 failed=2 unfinished=1", CuScore.Summary(results));
    }

    /// <summary>
    /// Runs iscsi-test-cu, collecting its output as it comes; kills it when it exceeds
    /// <see cref="RunTimeout"/> or prints nothing for <see cref="StallTimeout"/>, and says which.
    /// </summary>
    internal static async Task<(string Log, string? Stalled)> RunWatchedAsync(IEnumerable<string> arguments, Func<Task<string>> dumpState)
    {
        var info = new ProcessStartInfo(Tools.Find("iscsi-test-cu")!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments) info.ArgumentList.Add(argument);
        var log = new System.Text.StringBuilder();
        long lastOutputTicks = Environment.TickCount64;
        using var process = new Process { StartInfo = info };
        DataReceivedEventHandler collect = (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) log.AppendLine(e.Data);
            Interlocked.Exchange(ref lastOutputTicks, Environment.TickCount64);
        };
        process.OutputDataReceived += collect;
        process.ErrorDataReceived += collect;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        string? stalled = null;
        Task exited = process.WaitForExitAsync();
        while (await Task.WhenAny(exited, Task.Delay(1000)) != exited)
        {
            if (clock.Elapsed > RunTimeout) stalled = $"did not finish within {RunTimeout}";
            else if (Environment.TickCount64 - Interlocked.Read(ref lastOutputTicks) > StallTimeout.TotalMilliseconds) stalled = $"printed nothing for {StallTimeout} (a test waits for a response that never comes)";
            if (stalled is null) continue;
            // Evidence before the kill: both ends' socket queues and the target's view of every
            // session (ExpCmdSN, MaxCmdSN, StatSN, tasks in flight), so a stall can be told apart:
            // a command the target holds, a response it never flushed, or one the initiator never sent.
            Tools.Result sockets = await Tools.RunAsync("ss", ["-tnpi"], TimeSpan.FromSeconds(10));
            string dump = await dumpState();
            lock (log) log.Append($"\n==== stall: {stalled} ====\n==== ss -tnpi ====\n{sockets.StandardOutput}\n==== target state (SIGQUIT) ====\n{dump}\n");
            process.Kill(entireProcessTree: true);
            break;
        }
        await process.WaitForExitAsync();
        lock (log) return (log.ToString(), stalled);
    }

    /// <summary>The suite and test that were running, and the last lines iscsi-test-cu printed before the stall.</summary>
    internal static string LastLinesBeforeStall(string log)
    {
        int marker = log.IndexOf("\n==== stall:", StringComparison.Ordinal);
        string[] lines = (marker < 0 ? log : log[..marker]).Split('\n');
        string suite = lines.LastOrDefault(line => line.StartsWith("Suite:", StringComparison.Ordinal)) ?? "(no suite)";
        string test = lines.LastOrDefault(line => line.TrimStart().StartsWith("Test:", StringComparison.Ordinal))?.Trim() ?? "(no test)";
        return $"{suite} / {test}\n{string.Join('\n', lines.TakeLast(5))}";
    }

    private static async Task<(SortedDictionary<string, CuScore.Outcome> Results, string Scorer)> ScoreAsync(string logPath, string log)
    {
        string? script = FindScoreScript();
        if (script is not null && Tools.Find("python3") is not null)
        {
            Tools.Result scored = await Tools.RunAsync("python3", [script, logPath, "--list"], TimeSpan.FromMinutes(1));
            Assert.True(scored.ExitCode == 0 && !scored.TimedOut, "cu_score.py failed:\n" + scored.StandardError);
            SortedDictionary<string, CuScore.Outcome> results = CuScore.ParseList(scored.StandardOutput);
            // Keep the port honest: it must agree with the script it stands in for.
            Assert.Equal(CuScore.Summary(results), CuScore.Summary(CuScore.Score(log.Split('\n'))));
            return (results, script);
        }
        return (CuScore.Score(log.Split('\n')), "CuScore (C# port; shared/tools/cu_score.py not found)");
    }

    // shared/tools/cu_score.py lives beside the repository (../shared from /work/main, ../../shared
    // from a worktree under /work/wt): look in every ancestor of the repository root.
    private static string? FindScoreScript()
    {
        string? directory = RepositoryRoot();
        while (directory is not null)
        {
            string candidate = Path.Combine(directory, "shared", "tools", "cu_score.py");
            if (File.Exists(candidate)) return candidate;
            directory = Path.GetDirectoryName(directory);
        }
        return null;
    }

    private static string? RepositoryRoot()
    {
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "SdsTarget.sln"))) directory = Path.GetDirectoryName(directory);
        return directory;
    }

    /// <summary>
    /// One known-results file: "date | SUITE.TEST | owner | citation | reason" lines, '#' comments,
    /// and (known failures only) a "# minimum passed: N" line with the recorded threshold.
    /// </summary>
    private sealed record KnownList(HashSet<string> Tests, int MinimumPassed)
    {
        public static KnownList Load(string name)
        {
            string path = Path.Combine(AppContext.BaseDirectory, name);
            Assert.True(File.Exists(path), $"{name} is not next to the test assembly");
            var tests = new HashSet<string>(StringComparer.Ordinal);
            int minimum = 0;
            foreach (string line in File.ReadAllLines(path))
            {
                Match threshold = Regex.Match(line, @"^#\s*minimum passed:\s*(\d+)");
                if (threshold.Success) minimum = int.Parse(threshold.Groups[1].Value);
                if (line.Length == 0 || line.StartsWith('#')) continue;
                string[] fields = line.Split('|');
                Assert.True(fields.Length >= 5, $"{name}: entries are 'date | test | owner | citation | reason': {line}");
                tests.Add(fields[1].Trim());
            }
            return new KnownList(tests, minimum);
        }
    }
}
