namespace Sds.Raft;

/// <summary>
/// An in-memory <see cref="IRaftLogStorage"/> for tests and the simulator. <see cref="Sync"/> does nothing:
/// whoever needs crash semantics (the simulator) snapshots its state with <see cref="Clone"/>.
/// </summary>
public sealed class MemoryRaftLogStorage : IRaftLogStorage
{
    // entries[0] is a dummy standing for the snapshot point: its Index and Term are the snapshot's.
    // Invariant: entries.Count >= 1 and entries[i].Index == entries[0].Index + i.
    private readonly List<Entry> entries = [];
    private HardState hardState;
    private ConfState confState;
    private Snapshot? snapshot;

    /// <summary>Creates an empty log bootstrapped with <paramref name="bootstrap"/> membership.</summary>
    public MemoryRaftLogStorage(ConfState bootstrap)
    {
        confState = bootstrap;
        entries.Add(default);
    }

    private MemoryRaftLogStorage(MemoryRaftLogStorage source)
    {
        entries.AddRange(source.entries);
        hardState = source.hardState;
        confState = source.confState;
        snapshot = source.snapshot;
    }

    /// <inheritdoc/>
    public HardState HardState => hardState;

    /// <inheritdoc/>
    public ConfState ConfState => confState;

    /// <inheritdoc/>
    public ulong FirstIndex => RaftEntryWindow.FirstIndex(entries);

    /// <inheritdoc/>
    public ulong LastIndex => RaftEntryWindow.LastIndex(entries);

    /// <summary>A deep copy: the simulator's "what survived the crash" image.</summary>
    public MemoryRaftLogStorage Clone() => new(this);

    /// <inheritdoc/>
    public StorageStatus Term(ulong index, out ulong term)
        => RaftEntryWindow.Term(entries, index, out term);

    /// <inheritdoc/>
    public StorageStatus Entries(ulong low, ulong high, ulong maxBytes, List<Entry> output)
        => RaftEntryWindow.Entries(entries, low, high, maxBytes, output);

    /// <inheritdoc/>
    public StorageStatus Snapshot(out Snapshot? result)
    {
        result = snapshot;
        return snapshot is null ? StorageStatus.Unavailable : StorageStatus.Ok;
    }

    /// <inheritdoc/>
    public void Save(HardState? newHardState, ReadOnlySpan<Entry> newEntries, Snapshot? newSnapshot)
    {
        if (newSnapshot is not null)
        {
            ApplySnapshot(newSnapshot);
        }

        Append(newEntries);
        if (newHardState is { } state)
        {
            hardState = state;
        }
    }

    /// <inheritdoc/>
    public void Sync()
    {
    }

    /// <inheritdoc/>
    public StorageStatus CreateSnapshot(ulong index, ConfState snapshotConfState, ReadOnlyMemory<byte> data, out Snapshot? result)
    {
        result = null;
        if (snapshot is not null && index <= snapshot.Metadata.Index)
        {
            return StorageStatus.Compacted;
        }

        Invariant.Assert(index <= LastIndex, "snapshot beyond the last entry");
        StorageStatus status = Term(index, out ulong term);
        if (status != StorageStatus.Ok)
        {
            return status;
        }

        snapshot = new Snapshot(new SnapshotMetadata(index, term, snapshotConfState), data);
        confState = snapshotConfState;
        result = snapshot;
        return StorageStatus.Ok;
    }

    /// <inheritdoc/>
    public StorageStatus Compact(ulong index)
    {
        ulong offset = entries[0].Index;
        if (index <= offset)
        {
            return StorageStatus.Compacted;
        }

        Invariant.Assert(snapshot is not null && index <= snapshot.Metadata.Index, "compaction beyond the snapshot");
        Invariant.Assert(index <= LastIndex, "compaction beyond the last entry");
        int removeCount = (int)(index - offset);
        Entry dummy = entries[removeCount];
        entries.RemoveRange(0, removeCount);
        entries[0] = new Entry(dummy.Term, dummy.Index, EntryType.Normal, ReadOnlyMemory<byte>.Empty);
        return StorageStatus.Ok;
    }

    private void ApplySnapshot(Snapshot newSnapshot)
    {
        SnapshotMetadata metadata = newSnapshot.Metadata;
        Invariant.Assert(snapshot is null || metadata.Index > snapshot.Metadata.Index, "installed snapshot is older than ours");
        snapshot = newSnapshot;
        confState = metadata.ConfState;
        entries.Clear();
        entries.Add(new Entry(metadata.Term, metadata.Index, EntryType.Normal, ReadOnlyMemory<byte>.Empty));
    }

    private void Append(ReadOnlySpan<Entry> newEntries)
    {
        if (newEntries.IsEmpty)
        {
            return;
        }

        ulong first = newEntries[0].Index;
        ulong offset = entries[0].Index;
        Invariant.Assert(first <= LastIndex + 1, "appended entries leave a gap");
        if (first <= offset)
        {
            // Entries already covered by the snapshot are skipped.
            ulong skip = offset + 1 - first;
            if (skip >= (ulong)newEntries.Length)
            {
                return;
            }

            newEntries = newEntries[(int)skip..];
            first = newEntries[0].Index;
        }

        entries.RemoveRange((int)(first - offset), entries.Count - (int)(first - offset));
        foreach (Entry entry in newEntries)
        {
            entries.Add(entry);
        }
    }
}
