namespace Sds.Raft;

/// <summary>The core's only source of randomness (election timeouts), injected so runs are reproducible.</summary>
public interface IRaftRandom
{
    /// <summary>A uniformly distributed integer in [0, <paramref name="maxExclusive"/>).</summary>
    int Next(int maxExclusive);
}
