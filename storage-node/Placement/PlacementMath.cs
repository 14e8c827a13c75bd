using System.Buffers.Binary;

namespace Sds.Storage.Placement;

/// <summary>
/// The stable functions of placement (DESIGN.md §4): chunk → PG by a hash, PG → members by rendezvous
/// hashing. Persisted in effect (data lives where they say), so their outputs must never change.
/// </summary>
public static class PlacementMath
{
    /// <summary>The PG owning chunk <paramref name="chunkIndex"/> of <paramref name="volumeId"/>.</summary>
    public static uint PgForChunk(Guid volumeId, ulong chunkIndex, int placementGroupCount)
    {
        Invariant.Assert(placementGroupCount > 0, "at least one PG");
        Span<byte> bytes = stackalloc byte[24];
        volumeId.TryWriteBytes(bytes);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[16..], chunkIndex);
        // FNV-1a 64 then a SplitMix64 finalizer: cheap, stable, and spreads consecutive chunks.
        ulong hash = 14695981039346656037UL;
        foreach (byte b in bytes)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return (uint)(Mix(hash) % (ulong)placementGroupCount);
    }

    /// <summary>The <paramref name="replicas"/> members with the highest rendezvous score for the PG, best first.</summary>
    public static ulong[] RendezvousMembers(uint pgId, IReadOnlyList<ulong> nodes, int replicas)
    {
        Invariant.Assert(replicas > 0 && replicas <= nodes.Count, "replicas between 1 and the node count");
        var scored = new (ulong Score, ulong Node)[nodes.Count];
        for (int i = 0; i < nodes.Count; i++)
        {
            scored[i] = (Mix(((ulong)pgId << 32) ^ Mix(nodes[i])), nodes[i]);
        }

        Array.Sort(scored, static (a, b) => b.Score.CompareTo(a.Score));
        var members = new ulong[replicas];
        for (int i = 0; i < replicas; i++)
        {
            members[i] = scored[i].Node;
        }

        return members;
    }

    private static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
