using System.Text;

namespace Sds.Meta.Placement;

/// <summary>
/// Highest-random-weight (rendezvous) hashing of placement groups onto storage nodes (Thaler and
/// Ravishankar, 1998): every (PG, node) pair gets a pseudo-random score and a PG lives on the
/// <c>replicas</c> highest-scoring candidates. A node joining takes only the PGs where it now ranks in the
/// top <c>replicas</c> (about replicas/N of them) and a node leaving moves only its own PGs, so
/// rebalancing moves the minimum. Scores depend on nothing but the ids: every member computes the same answer.
/// </summary>
internal static class RendezvousPlacement
{
    /// <summary>
    /// Chooses the members of <paramref name="pgId"/> among <paramref name="candidates"/> (node ids), highest
    /// score first, at most <paramref name="replicas"/> of them.
    /// </summary>
    public static List<string> Choose(uint pgId, IReadOnlyList<string> candidates, int replicas)
    {
        Invariant.Assert(replicas >= 0, "replica count is not negative");
        var scored = new List<(ulong Score, string NodeId)>(candidates.Count);
        foreach (string nodeId in candidates)
        {
            scored.Add((Score(pgId, nodeId), nodeId));
        }

        // Ties (astronomically unlikely) break by id so the order is total and deterministic.
        scored.Sort(static (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : string.CompareOrdinal(a.NodeId, b.NodeId));
        var chosen = new List<string>(Math.Min(replicas, scored.Count));
        for (int i = 0; i < scored.Count && chosen.Count < replicas; i++)
        {
            chosen.Add(scored[i].NodeId);
        }

        Invariant.Assert(chosen.Count == Math.Min(replicas, candidates.Count), "placement fills every slot it can");
        return chosen;
    }

    /// <summary>The weight of <paramref name="nodeId"/> for <paramref name="pgId"/>: FNV-1a over both, then a SplitMix64 finalizer so nearby ids spread.</summary>
    public static ulong Score(uint pgId, string nodeId)
    {
        const ulong fnvOffsetBasis = 14695981039346656037UL;
        const ulong fnvPrime = 1099511628211UL;
        ulong hash = fnvOffsetBasis;
        for (int shift = 0; shift < 32; shift += 8)
        {
            hash = (hash ^ ((pgId >> shift) & 0xFF)) * fnvPrime;
        }

        hash = (hash ^ 0xFF) * fnvPrime; // separator, so ("1", "23") and ("12", "3") differ
        Span<byte> utf8 = stackalloc byte[Encoding.UTF8.GetMaxByteCount(Math.Min(nodeId.Length, 256))];
        int length = Encoding.UTF8.GetBytes(nodeId.AsSpan(0, Math.Min(nodeId.Length, 256)), utf8);
        foreach (byte b in utf8[..length])
        {
            hash = (hash ^ b) * fnvPrime;
        }

        hash ^= hash >> 30;
        hash *= 0xBF58476D1CE4E5B9UL;
        hash ^= hash >> 27;
        hash *= 0x94D049BB133111EBUL;
        hash ^= hash >> 31;
        return hash;
    }
}
