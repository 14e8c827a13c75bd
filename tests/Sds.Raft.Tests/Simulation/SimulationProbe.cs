namespace Sds.Raft.Tests.Simulation;

public sealed class SimulationProbe(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Probe()
    {
        string mode = Environment.GetEnvironmentVariable("PROBE_MODE") ?? "";
        int n = int.Parse(Environment.GetEnvironmentVariable("PROBE_N") ?? "200");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        int fails = 0; long acked = 0, reads = 0, el = 0, cr = 0, steps = 0, com = 0;
        for (ulong seed = 1; seed <= (ulong)n; seed++)
        {
            var r = Simulator.RunSeed(new SimulationOptions { Seed = seed, MemberCount = seed % 2 == 0 ? 5 : 3,
                BrokenCommitPreviousTerm = mode == "fig8", BrokenSkipVoteLogCheck = mode == "vote", BrokenNoSync = mode == "nosync", CrashPerMille = int.Parse(Environment.GetEnvironmentVariable("PROBE_CRASH") ?? "4"), MaxSizePerMessageBytes = ulong.Parse(Environment.GetEnvironmentVariable("PROBE_MAXSIZE") ?? "0") });
            if (!r.Passed && fails < 8) { output.WriteLine(r.ToString()); }
            if (!r.Passed) fails++;
            acked += r.AcknowledgedWrites; reads += r.CompletedReads; el += r.Elections; cr += r.Crashes; steps += r.Steps; com += (long)r.Committed;
        }
        output.WriteLine($"elapsed {sw.Elapsed.TotalSeconds}s fails={fails} acked={acked} reads={reads} elections={el} crashes={cr} steps={steps} committed={com}");
    }
}
