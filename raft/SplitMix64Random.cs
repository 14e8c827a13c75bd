namespace Sds.Raft;

/// <summary>A small seeded PRNG (SplitMix64): deterministic, allocation-free, good enough for timeouts and simulation.</summary>
public sealed class SplitMix64Random : IRaftRandom
{
    private ulong state;

    /// <summary>Creates a generator; equal seeds give equal sequences.</summary>
    public SplitMix64Random(ulong seed) => state = seed;

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        state += 0x9E3779B97F4A7C15UL;
        ulong z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <inheritdoc/>
    public int Next(int maxExclusive)
    {
        Invariant.Assert(maxExclusive > 0, "empty range");
        return (int)(NextUInt64() % (ulong)maxExclusive);
    }

    /// <summary>True with probability <paramref name="probability"/>.</summary>
    public bool Chance(double probability) => (NextUInt64() >> 11) * (1.0 / (1UL << 53)) < probability;
}
