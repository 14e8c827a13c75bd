using System.Diagnostics;

namespace Sds.Storage.Bench;

/// <summary>
/// Per-operation latencies of one thread in a preallocated array (bounded: later samples are
/// counted but not kept), so measuring adds no allocation to the loop being measured.
/// </summary>
internal sealed class LatencyRecorder
{
    private const int SamplesMax = 4_000_000;
    private readonly long[] ticks = new long[SamplesMax];
    private int kept;

    /// <summary>Operations recorded, including those beyond the sample bound.</summary>
    public long Count { get; private set; }

    /// <summary>Records one operation's duration in Stopwatch ticks.</summary>
    public void Record(long elapsedTicks)
    {
        if (kept < ticks.Length)
        {
            ticks[kept++] = elapsedTicks;
        }

        Count++;
    }

    /// <summary>Merges recorders and returns (mean, p50, p99) in microseconds.</summary>
    public static (double MeanMicros, double P50Micros, double P99Micros) Summarize(IReadOnlyList<LatencyRecorder> recorders)
    {
        long[] all = recorders.SelectMany(r => r.ticks.Take(r.kept)).ToArray();
        if (all.Length == 0)
        {
            return (0, 0, 0);
        }

        Array.Sort(all);
        double toMicros = 1_000_000.0 / Stopwatch.Frequency;
        return (all.Average() * toMicros, all[all.Length / 2] * toMicros, all[(int)(all.Length * 0.99)] * toMicros);
    }
}
