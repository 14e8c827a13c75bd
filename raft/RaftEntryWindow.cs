namespace Sds.Raft;

/// <summary>
/// Reads over the retained part of a Raft log kept in memory by an <see cref="IRaftLogStorage"/>:
/// a list whose element 0 is a dummy standing for the snapshot point (its Index and Term are the
/// snapshot's) and whose element i has Index == list[0].Index + i. Shared by every storage that keeps
/// that window (memory, file, the storage node's RocksDB log), so the bounds rules live in one place.
/// </summary>
public static class RaftEntryWindow
{
    /// <summary>First index still held (one past the snapshot point).</summary>
    public static ulong FirstIndex(List<Entry> entries) => entries[0].Index + 1;

    /// <summary>Last index held (the snapshot point when no entry follows it).</summary>
    public static ulong LastIndex(List<Entry> entries) => entries[0].Index + (ulong)entries.Count - 1;

    /// <summary>Term of <paramref name="index"/>: Compacted below the snapshot point, Unavailable past the end.</summary>
    public static StorageStatus Term(List<Entry> entries, ulong index, out ulong term)
    {
        term = 0;
        ulong offset = entries[0].Index;
        if (index < offset)
        {
            return StorageStatus.Compacted;
        }

        if (index > LastIndex(entries))
        {
            return StorageStatus.Unavailable;
        }

        term = entries[(int)(index - offset)].Term;
        return StorageStatus.Ok;
    }

    /// <summary>
    /// Appends entries [<paramref name="low"/>, <paramref name="high"/>) to <paramref name="output"/>, stopping
    /// once <paramref name="maxBytes"/> would be exceeded (always at least one entry, as etcd does, so a
    /// single large entry still makes progress).
    /// </summary>
    public static StorageStatus Entries(List<Entry> entries, ulong low, ulong high, ulong maxBytes, List<Entry> output)
    {
        Invariant.Assert(low <= high, "entries range is inverted");
        ulong offset = entries[0].Index;
        if (low <= offset)
        {
            return StorageStatus.Compacted;
        }

        if (high > LastIndex(entries) + 1)
        {
            return StorageStatus.Unavailable;
        }

        ulong sizeBytes = 0;
        for (ulong index = low; index < high; index++)
        {
            Entry entry = entries[(int)(index - offset)];
            sizeBytes += entry.SizeBytes;
            if (index > low && sizeBytes > maxBytes)
            {
                break;
            }

            output.Add(entry);
        }

        return StorageStatus.Ok;
    }
}
