using System.Diagnostics;

namespace Sds.Meta.Bench;

/// <summary>Latencies of completed operations (bounded: later samples are counted, not kept).</summary>
internal sealed class LatencySamples
{
    private const int SamplesMax = 2_000_000;
    private readonly long[] ticks = new long[SamplesMax];
    private int kept;
    private long count;
    private readonly object gate = new();

    /// <summary>Operations recorded.</summary>
    public long Count => Interlocked.Read(ref count);

    /// <summary>Records one operation's duration in Stopwatch ticks (any thread).</summary>
    public void Record(long elapsedTicks)
    {
        lock (gate)
        {
            if (kept < ticks.Length) ticks[kept++] = elapsedTicks;
            count++;
        }
    }

    /// <summary>(p50, p99, max) in milliseconds.</summary>
    public (double P50Ms, double P99Ms, double MaxMs) Summarize()
    {
        long[] all = ticks[..kept];
        if (all.Length == 0) return (0, 0, 0);
        Array.Sort(all);
        double toMs = 1_000.0 / Stopwatch.Frequency;
        return (all[all.Length / 2] * toMs, all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))] * toMs, all[^1] * toMs);
    }
}
