using System.Text.RegularExpressions;

namespace Sds.Conformance.Tests;

/// <summary>
/// The scoring rules of shared/tools/cu_score.py, in C#, for machines where the script is not
/// beside the repository: each distinct SUITE.TEST of an <c>iscsi-test-cu -v</c> log is passed,
/// skipped, failed or running (unfinished); a test that ran more than once (the ALL family repeats
/// suites) keeps its worst result. Any line containing "FAILED" fails the current test, even when
/// CUnit itself passed it (libiscsi logs "[FAILED]" for some expected failures).
/// </summary>
public static class CuScore
{
    /// <summary>Outcome of one test, ordered from best to worst (the script's RANK).</summary>
    public enum Outcome
    {
        /// <summary>CUnit printed "passed" and nothing failed.</summary>
        Passed,
        /// <summary>The test printed "[SKIPPED]".</summary>
        Skipped,
        /// <summary>The test started and never finished.</summary>
        Running,
        /// <summary>A line attributed to the test contains "FAILED".</summary>
        Failed,
    }

    private static readonly Regex SuiteLine = new(@"^Suite: (\S+)", RegexOptions.Compiled);
    private static readonly Regex TestLine = new(@"^\s+Test: (\S+) \.\.\.(.*)$", RegexOptions.Compiled);
    private static readonly Regex PassedAtEnd = new(@"passed\s*$", RegexOptions.Compiled);

    /// <summary>Scores the lines of a log; the key is "SUITE.TEST".</summary>
    public static SortedDictionary<string, Outcome> Score(IEnumerable<string> lines)
    {
        var results = new SortedDictionary<string, Outcome>(StringComparer.Ordinal);
        string? suite = null;
        string? current = null;
        Outcome run = Outcome.Running;

        void Settle()
        {
            if (current is null) return;
            if (!results.TryGetValue(current, out Outcome old) || run > old) results[current] = run;
        }

        foreach (string raw in lines)
        {
            string line = raw;
            Match suiteMatch = SuiteLine.Match(line);
            if (suiteMatch.Success)
            {
                Settle();
                current = null;
                suite = suiteMatch.Groups[1].Value;
                continue;
            }
            Match testMatch = TestLine.Match(line);
            if (testMatch.Success)
            {
                Settle();
                current = $"{suite}.{testMatch.Groups[1].Value}";
                run = Outcome.Running;
                line = testMatch.Groups[2].Value;
            }
            if (current is null) continue;
            if (line.Contains("[SKIPPED]", StringComparison.Ordinal) && run == Outcome.Running) run = Outcome.Skipped;
            if (line.Contains("FAILED", StringComparison.Ordinal)) run = Outcome.Failed;
            if (PassedAtEnd.IsMatch(line) && run == Outcome.Running) run = Outcome.Passed;
        }
        Settle();
        return results;
    }

    /// <summary>The script's summary line: "tests=N passed=N skipped=N failed=N unfinished=N".</summary>
    public static string Summary(IReadOnlyDictionary<string, Outcome> results)
    {
        int Count(Outcome outcome) => results.Values.Count(value => value == outcome);
        return $"tests={results.Count} passed={Count(Outcome.Passed)} skipped={Count(Outcome.Skipped)} failed={Count(Outcome.Failed)} unfinished={Count(Outcome.Running)}";
    }

    /// <summary>Parses the script's <c>--list</c> output ("result SUITE.TEST" lines, then the summary).</summary>
    public static SortedDictionary<string, Outcome> ParseList(string output)
    {
        var results = new SortedDictionary<string, Outcome>(StringComparer.Ordinal);
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] parts = line.Split(' ', 2);
            if (parts.Length != 2 || parts[0].Contains('=')) continue;
            Outcome outcome = parts[0] switch
            {
                "passed" => Outcome.Passed,
                "skipped" => Outcome.Skipped,
                "failed" => Outcome.Failed,
                "running" => Outcome.Running,
                _ => throw new FormatException("unexpected cu_score.py line: " + line),
            };
            results[parts[1]] = outcome;
        }
        return results;
    }
}
