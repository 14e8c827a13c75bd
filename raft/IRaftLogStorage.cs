namespace Sds.Raft;

/// <summary>
/// The durable Raft log of one group: read by the core, written by the host in <see cref="Ready"/> order.
/// </summary>
/// <remarks>
/// <para>Read side (called by the core, from the host's thread): <see cref="HardState"/>,
/// <see cref="ConfState"/>, <see cref="FirstIndex"/>, <see cref="LastIndex"/>, <see cref="Term"/>,
/// <see cref="Entries"/>, <see cref="Snapshot"/>. They must reflect every <see cref="Save"/> so far,
/// synced or not: the core reads what it handed out in earlier Readys.</para>
/// <para>Write side (called by the host): <see cref="Save"/> stages the Ready's snapshot, entries and
/// hard state, in that order; <see cref="Sync"/> makes everything staged durable. A multi-group store
/// (one RocksDB for hundreds of groups) stages every group's Ready into one write batch from
/// <see cref="Save"/> and commits it with a single synced write in <see cref="Sync"/> of whichever group
/// comes last — group commit, as DESIGN.md §5 asks. <see cref="RaftHost"/> drives this order.</para>
/// <para>The log holds entries [<see cref="FirstIndex"/>, <see cref="LastIndex"/>]; the entry before
/// <see cref="FirstIndex"/> is covered by the latest snapshot, and <see cref="Term"/> answers for it.</para>
/// </remarks>
public interface IRaftLogStorage
{
    /// <summary>Last saved hard state (empty for a new node).</summary>
    HardState HardState { get; }

    /// <summary>
    /// Membership the state machine starts with: the latest snapshot's, else the bootstrap one. The core
    /// starts committed and applied at the latest snapshot's index (or <see cref="FirstIndex"/> − 1 without
    /// one), so the application restores its state machine from <see cref="Snapshot"/> on every start.
    /// </summary>
    ConfState ConfState { get; }

    /// <summary>Index of the first retained entry; the snapshot index + 1 (1 for a fresh log).</summary>
    ulong FirstIndex { get; }

    /// <summary>Index of the last entry; <see cref="FirstIndex"/> − 1 when the log is empty.</summary>
    ulong LastIndex { get; }

    /// <summary>Term of the entry at <paramref name="index"/>, for index in [FirstIndex − 1, LastIndex].</summary>
    StorageStatus Term(ulong index, out ulong term);

    /// <summary>
    /// Appends entries [<paramref name="low"/>, <paramref name="high"/>) to <paramref name="output"/>, stopping
    /// once <paramref name="maxBytes"/> is reached (always at least one entry).
    /// </summary>
    StorageStatus Entries(ulong low, ulong high, ulong maxBytes, List<Entry> output);

    /// <summary>The latest snapshot; <see cref="StorageStatus.Unavailable"/> if there is none yet.</summary>
    StorageStatus Snapshot(out Snapshot? snapshot);

    /// <summary>
    /// Stages a Ready: installs <paramref name="snapshot"/> (replacing the whole log), then appends
    /// <paramref name="entries"/> (truncating any existing suffix from the first entry's index), then
    /// records <paramref name="hardState"/>. Visible to readers at once; durable after <see cref="Sync"/>.
    /// </summary>
    void Save(HardState? hardState, ReadOnlySpan<Entry> entries, Snapshot? snapshot);

    /// <summary>Makes everything staged durable (fsync). Must return only when it is.</summary>
    void Sync();

    /// <summary>
    /// Records a snapshot of the application state at <paramref name="index"/> (at most the applied index)
    /// without dropping entries; follow with <see cref="Compact"/> to reclaim the log (Raft §7).
    /// </summary>
    StorageStatus CreateSnapshot(ulong index, ConfState confState, ReadOnlyMemory<byte> data, out Snapshot? snapshot);

    /// <summary>
    /// Discards entries up to and including <paramref name="index"/>, which must not exceed the latest
    /// snapshot's index. <see cref="StorageStatus.Compacted"/> if already compacted that far.
    /// </summary>
    StorageStatus Compact(ulong index);
}
