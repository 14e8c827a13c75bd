namespace Sds.Raft;

/// <summary>
/// A bounded ring of the last indexes of Append messages in flight to one follower: the pipelining window.
/// Allocated once per follower; adding and freeing never allocate.
/// </summary>
internal sealed class Inflights
{
    private readonly ulong[] lastIndexes;
    private int start;

    // Invariant: 0 <= count <= lastIndexes.Length, and the ring holds strictly increasing indexes.
    private int count;

    /// <summary>Creates a window of <paramref name="capacity"/> messages.</summary>
    public Inflights(int capacity)
    {
        Invariant.Assert(capacity > 0, "inflight window must hold at least one message");
        lastIndexes = new ulong[capacity];
    }

    /// <summary>Messages in flight.</summary>
    public int Count => count;

    /// <summary>True when no more messages may be sent.</summary>
    public bool IsFull => count == lastIndexes.Length;

    /// <summary>Records an Append whose last entry is <paramref name="lastIndex"/>.</summary>
    public void Add(ulong lastIndex)
    {
        Invariant.Assert(!IsFull, "inflight window overflow");
        Invariant.Assert(count == 0 || lastIndexes[(start + count - 1) % lastIndexes.Length] < lastIndex, "inflight indexes must increase");
        lastIndexes[(start + count) % lastIndexes.Length] = lastIndex;
        count++;
    }

    /// <summary>Frees every message whose last index is &lt;= <paramref name="index"/> (acknowledged).</summary>
    public void FreeLessOrEqual(ulong index)
    {
        while (count > 0 && lastIndexes[start] <= index)
        {
            start = (start + 1) % lastIndexes.Length;
            count--;
        }
    }

    /// <summary>Frees the oldest message, so a full window whose Appends were lost can make progress.</summary>
    public void FreeFirst()
    {
        if (count > 0)
        {
            start = (start + 1) % lastIndexes.Length;
            count--;
        }
    }

    /// <summary>Forgets everything in flight.</summary>
    public void Reset()
    {
        start = 0;
        count = 0;
    }
}
