namespace Sds.Raft;

/// <summary>
/// The log as the core sees it: the stable part in <see cref="IRaftLogStorage"/> plus an unstable tail
/// (entries and maybe a snapshot) not yet handed to the host for persistence, and the commit/apply cursors.
/// </summary>
internal sealed class RaftLog
{
    private readonly IRaftLogStorage storage;
    private readonly ulong maxCommittedSizePerReadyBytes;

    // Unstable tail. Invariant: unstableEntries[i].Index == unstableOffset + i. When unstableSnapshot is set,
    // unstableOffset == unstableSnapshot.Metadata.Index + 1.
    private readonly List<Entry> unstableEntries = [];
    private ulong unstableOffset;
    private Snapshot? unstableSnapshot;

    /// <summary>
    /// Creates the log over <paramref name="storage"/>, committed and applied at <paramref name="snapshotIndex"/>
    /// (the latest snapshot's index, which the application's state machine starts from).
    /// </summary>
    public RaftLog(IRaftLogStorage storage, ulong snapshotIndex, ulong maxCommittedSizePerReadyBytes)
    {
        Invariant.Assert(snapshotIndex + 1 >= storage.FirstIndex && snapshotIndex <= storage.LastIndex, "snapshot outside the log");
        this.storage = storage;
        this.maxCommittedSizePerReadyBytes = maxCommittedSizePerReadyBytes;
        unstableOffset = storage.LastIndex + 1;
        Committed = snapshotIndex;
        Applying = Committed;
        Applied = Committed;
    }

    /// <summary>Highest index known to be committed. Invariant: Committed &lt;= LastIndex.</summary>
    public ulong Committed { get; private set; }

    /// <summary>Highest index handed out in a Ready's CommittedEntries. Invariant: Applied &lt;= Applying &lt;= Committed.</summary>
    public ulong Applying { get; private set; }

    /// <summary>Highest index the host has applied (acknowledged by Advance).</summary>
    public ulong Applied { get; private set; }

    /// <summary>The snapshot waiting to be persisted, if any.</summary>
    public Snapshot? UnstableSnapshot => unstableSnapshot;

    /// <summary>Entries waiting to be persisted.</summary>
    public List<Entry> UnstableEntries => unstableEntries;

    /// <summary>First index still in the log (after the snapshot point).</summary>
    public ulong FirstIndex => unstableSnapshot is not null ? unstableSnapshot.Metadata.Index + 1 : storage.FirstIndex;

    /// <summary>Last index in the log.</summary>
    public ulong LastIndex
    {
        get
        {
            if (unstableEntries.Count > 0)
            {
                return unstableOffset + (ulong)unstableEntries.Count - 1;
            }

            return unstableSnapshot is not null ? unstableSnapshot.Metadata.Index : storage.LastIndex;
        }
    }

    /// <summary>Term of the last entry.</summary>
    public ulong LastTerm => TermOrZero(LastIndex);

    /// <summary>Term at <paramref name="index"/>, for index in [FirstIndex − 1, LastIndex].</summary>
    public StorageStatus Term(ulong index, out ulong term)
    {
        term = 0;
        if (index + 1 < FirstIndex)
        {
            return StorageStatus.Compacted;
        }

        if (index > LastIndex)
        {
            return StorageStatus.Unavailable;
        }

        if (unstableSnapshot is not null && index == unstableSnapshot.Metadata.Index)
        {
            term = unstableSnapshot.Metadata.Term;
            return StorageStatus.Ok;
        }

        if (unstableEntries.Count > 0 && index >= unstableOffset)
        {
            term = unstableEntries[(int)(index - unstableOffset)].Term;
            return StorageStatus.Ok;
        }

        return storage.Term(index, out term);
    }

    /// <summary>Term at <paramref name="index"/>, or 0 when it is compacted or absent.</summary>
    public ulong TermOrZero(ulong index) => Term(index, out ulong term) == StorageStatus.Ok ? term : 0;

    /// <summary>True when the entry at <paramref name="index"/> has <paramref name="term"/>.</summary>
    public bool MatchTerm(ulong index, ulong term) => Term(index, out ulong actual) == StorageStatus.Ok && actual == term;

    /// <summary>Raft §5.4.1: a candidate's log is at least as up-to-date as ours.</summary>
    public bool IsUpToDate(ulong lastIndex, ulong lastTerm)
    {
        ulong ourLastTerm = LastTerm;
        return lastTerm > ourLastTerm || (lastTerm == ourLastTerm && lastIndex >= LastIndex);
    }

    /// <summary>
    /// Raft §5.3 AppendEntries receiver: if our entry at <paramref name="previousIndex"/> has
    /// <paramref name="previousTerm"/>, appends what is new, deletes conflicting suffixes, and advances the
    /// commit index to min(<paramref name="leaderCommit"/>, last new index). False when the log doesn't match.
    /// </summary>
    public bool MaybeAppend(ulong previousIndex, ulong previousTerm, ulong leaderCommit, Entry[] entries, out ulong lastNewIndex)
    {
        lastNewIndex = 0;
        if (!MatchTerm(previousIndex, previousTerm))
        {
            return false;
        }

        lastNewIndex = previousIndex + (ulong)entries.Length;
        ulong conflictIndex = FindConflict(entries);
        if (conflictIndex != 0)
        {
            // Raft §5.4: a committed entry is never overwritten.
            Invariant.Assert(conflictIndex > Committed, "conflicting entry below the commit index");
            Append(entries.AsSpan((int)(conflictIndex - (previousIndex + 1))));
        }

        CommitTo(Math.Min(leaderCommit, lastNewIndex));
        return true;
    }

    /// <summary>
    /// The index of the first entry that is new or conflicts with ours (0 when all are present).
    /// </summary>
    private ulong FindConflict(Entry[] entries)
    {
        foreach (Entry entry in entries)
        {
            if (!MatchTerm(entry.Index, entry.Term))
            {
                return entry.Index;
            }
        }

        return 0;
    }

    /// <summary>
    /// Conflict-index backtracking (Raft §5.3, "the follower can include the term of the conflicting entry"):
    /// the largest index &lt;= <paramref name="index"/> whose term is &lt;= <paramref name="term"/>, with its term.
    /// Every entry above it has a larger term and cannot match the other log there.
    /// </summary>
    public (ulong Index, ulong Term) FindConflictByTerm(ulong index, ulong term)
    {
        while (true)
        {
            StorageStatus status = Term(index, out ulong ourTerm);
            if (status != StorageStatus.Ok)
            {
                return (index, 0);
            }

            if (ourTerm <= term || index == 0)
            {
                return (index, ourTerm);
            }

            index--;
        }
    }

    /// <summary>Appends entries to the unstable tail, replacing any suffix from the first entry's index.</summary>
    public ulong Append(ReadOnlySpan<Entry> entries)
    {
        if (entries.IsEmpty)
        {
            return LastIndex;
        }

        ulong first = entries[0].Index;
        Invariant.Assert(first > Committed, "append below the commit index");
        Invariant.Assert(first <= LastIndex + 1, "append leaves a gap");
        if (first == unstableOffset + (ulong)unstableEntries.Count)
        {
            // Directly after the unstable tail (or the stable log when the tail is empty).
        }
        else if (first <= unstableOffset)
        {
            // Replaces the whole unstable tail, and a stable suffix too (the host's Save truncates it).
            unstableOffset = first;
            unstableEntries.Clear();
        }
        else
        {
            unstableEntries.RemoveRange((int)(first - unstableOffset), unstableEntries.Count - (int)(first - unstableOffset));
        }

        foreach (Entry entry in entries)
        {
            unstableEntries.Add(entry);
        }

        return LastIndex;
    }

    /// <summary>Appends entries [low, high) to <paramref name="output"/>, bounded by <paramref name="maxBytes"/>.</summary>
    public StorageStatus Slice(ulong low, ulong high, ulong maxBytes, List<Entry> output)
    {
        Invariant.Assert(low <= high, "slice is inverted");
        if (low < FirstIndex)
        {
            return StorageStatus.Compacted;
        }

        Invariant.Assert(high <= LastIndex + 1, "slice beyond the last entry");
        if (low == high)
        {
            return StorageStatus.Ok;
        }

        int startCount = output.Count;
        if (low < unstableOffset)
        {
            StorageStatus status = storage.Entries(low, Math.Min(high, unstableOffset), maxBytes, output);
            if (status != StorageStatus.Ok)
            {
                return status;
            }

            ulong got = (ulong)(output.Count - startCount);
            if (got < Math.Min(high, unstableOffset) - low)
            {
                return StorageStatus.Ok;
            }
        }

        ulong sizeBytes = 0;
        for (int i = startCount; i < output.Count; i++)
        {
            sizeBytes += output[i].SizeBytes;
        }

        for (ulong index = Math.Max(low, unstableOffset); index < high; index++)
        {
            Entry entry = unstableEntries[(int)(index - unstableOffset)];
            sizeBytes += entry.SizeBytes;
            if (output.Count > startCount && sizeBytes > maxBytes)
            {
                break;
            }

            output.Add(entry);
        }

        return StorageStatus.Ok;
    }

    /// <summary>Advances the commit index; never moves it back.</summary>
    public void CommitTo(ulong index)
    {
        if (index > Committed)
        {
            Invariant.Assert(index <= LastIndex, "commit beyond the last entry");
            Committed = index;
        }
    }

    /// <summary>
    /// Raft §5.4.2: commits <paramref name="index"/> only when its entry is from <paramref name="term"/>, the
    /// leader's current term; earlier-term entries are committed indirectly, by the Log Matching Property.
    /// </summary>
    public bool MaybeCommit(ulong index, ulong term)
    {
        if (index > Committed && TermOrZero(index) == term)
        {
            CommitTo(index);
            return true;
        }

        return false;
    }

    /// <summary>True when committed entries wait to be handed to the host.</summary>
    public bool HasNextCommittedEntries => Committed > Applying && unstableSnapshot is null;

    /// <summary>Collects the next batch of committed entries (bounded) and marks them as being applied.</summary>
    public void NextCommittedEntries(List<Entry> output)
    {
        if (!HasNextCommittedEntries)
        {
            return;
        }

        StorageStatus status = Slice(Applying + 1, Committed + 1, maxCommittedSizePerReadyBytes, output);
        Invariant.Assert(status == StorageStatus.Ok, "committed entries must be readable");
        Applying = output[^1].Index;
    }

    /// <summary>The host applied everything up to <paramref name="index"/>.</summary>
    public void AppliedTo(ulong index)
    {
        Invariant.Assert(index >= Applied && index <= Committed, "applied index out of range");
        Applied = index;
        if (Applying < index)
        {
            Applying = index;
        }
    }

    /// <summary>Entries up to (index, term) were persisted; drop them from the unstable tail.</summary>
    public void StableTo(ulong index, ulong term)
    {
        if (unstableEntries.Count == 0 || index < unstableOffset)
        {
            return;
        }

        ulong lastUnstable = unstableOffset + (ulong)unstableEntries.Count - 1;
        if (index > lastUnstable || unstableEntries[(int)(index - unstableOffset)].Term != term)
        {
            // Replaced by a newer append since the Ready was built; the next Ready carries it again.
            return;
        }

        unstableEntries.RemoveRange(0, (int)(index - unstableOffset + 1));
        unstableOffset = index + 1;
    }

    /// <summary>The unstable snapshot at <paramref name="index"/> was persisted.</summary>
    public void StableSnapshotTo(ulong index)
    {
        if (unstableSnapshot is not null && unstableSnapshot.Metadata.Index == index)
        {
            unstableSnapshot = null;
        }
    }

    /// <summary>Replaces the whole log by <paramref name="snapshot"/> (Raft §7, InstallSnapshot step 7).</summary>
    public void Restore(Snapshot snapshot)
    {
        ulong index = snapshot.Metadata.Index;
        Invariant.Assert(index > Committed, "restoring a snapshot we already committed past");
        unstableSnapshot = snapshot;
        unstableEntries.Clear();
        unstableOffset = index + 1;
        Committed = index;
        Applying = index;
    }

    /// <summary>After the host applied the restored snapshot, everything up to it is applied.</summary>
    public void SnapshotApplied(ulong index)
    {
        if (index > Applied)
        {
            Invariant.Assert(index <= Committed, "snapshot applied beyond the commit index");
            Applied = index;
            Applying = Math.Max(Applying, index);
        }
    }
}
