using System.Buffers.Binary;
using Sds.Raft;
using Sds.Storage.Chunks;
using Sds.Storage.RocksDb;

namespace Sds.Storage.RaftLog;

/// <summary>
/// One RocksDB holding the Raft logs and hard states of every group on the node, and one write batch that
/// every group's <see cref="RaftLogStorage.Save"/> stages into. <see cref="Commit"/> writes the batch once
/// per Ready cycle, synced when any group's Ready must sync: group commit (DESIGN.md §5, TiKV raftstore),
/// so hundreds of PGs cost one fdatasync per cycle instead of one each.
/// </summary>
/// <remarks>
/// Single-threaded: the node's event loop owns it. Debian's librocksdb is built with assertions and aborts
/// the process when a WAL append meets ENOSPC (docs/storage-chunk-stores.md), so every commit is admitted
/// by a <see cref="FreeSpaceGuard"/> first; a refused commit keeps the batch staged for the next cycle and
/// reports <see cref="ChunkStatus.NoSpace"/>, and the caller must not send the cycle's messages.
/// </remarks>
internal sealed class RaftLogEngine : IDisposable
{
    /// <summary>Space kept free under the Raft-log database (RocksDB must never meet ENOSPC).</summary>
    public const long FreeSpaceReserveBytesDefault = 128L * 1024 * 1024;

    private readonly RocksDatabase database;
    private readonly RocksDbColumnFamily family;
    private readonly RocksDbWriteOptions syncedWrites = new(sync: true);
    private readonly RocksDbWriteOptions unsyncedWrites = new(sync: false);
    private readonly RocksDbReadOptions readOptions = new();
    private FreeSpaceGuard freeSpace;

    private RaftLogEngine(RocksDatabase database, long freeSpaceReserveBytes)
    {
        this.database = database;
        family = database.DefaultColumnFamily;
        freeSpace = new FreeSpaceGuard(database.Path, freeSpaceReserveBytes);
    }

    /// <summary>The batch every group stages into; written by <see cref="Commit"/>.</summary>
    public RocksDbWriteBatch Batch { get; } = new();

    /// <summary>The column family holding every key.</summary>
    internal RocksDbColumnFamily Family => family;

    /// <summary>Synced batch writes so far (group commits), for tests and metrics.</summary>
    public long SyncedCommits { get; private set; }

    /// <summary>Opens (creating if needed) the Raft-log database at <paramref name="path"/>.</summary>
    public static RocksDbStatus Open(string path, out RaftLogEngine? engine, long freeSpaceReserveBytes = FreeSpaceReserveBytesDefault)
    {
        engine = null;
        Directory.CreateDirectory(path);
        using var options = new RocksDbOptions().CreateIfMissing(true).CreateMissingColumnFamilies(true)
            .Compression(RocksDbCompression.None).WriteBufferSize(32L * 1024 * 1024).Parallelism(2).MaxOpenFiles(256);
        RocksDbStatus status = RocksDatabase.Open(path, options, [], out RocksDatabase? database);
        if (!status.IsOk)
        {
            return status;
        }

        engine = new RaftLogEngine(database!, freeSpaceReserveBytes);
        return RocksDbStatus.Ok;
    }

    /// <summary>
    /// True from a failed synced <see cref="Commit"/> until a later one succeeds. Meanwhile staged entries may
    /// already have been promised: a leader sends its Appends before the cycle's sync (Raft thesis §10.2.1,
    /// raft/RaftHost.cs rule (b)), so the host sends nothing and steps no append response while this is set, and
    /// every commit is synced (an unsynced write would empty the batch without making it durable).
    /// </summary>
    public bool SyncOwed { get; private set; }

    /// <summary>
    /// Writes the staged batch, synced if <paramref name="sync"/> (always while <see cref="SyncOwed"/>). On
    /// <see cref="ChunkStatus.NoSpace"/> or an I/O error nothing was written and the batch stays staged.
    /// </summary>
    public ChunkStatus Commit(bool sync)
    {
        sync |= SyncOwed;
        ChunkStatus status = Write(sync);
        if (sync)
        {
            SyncOwed = status != ChunkStatus.Ok;
        }

        return status;
    }

    private ChunkStatus Write(bool sync)
    {
        if (Batch.Count == 0)
        {
            // A failed write keeps its batch staged, so a sync is never owed on an empty batch.
            Invariant.Assert(!SyncOwed, "a sync owed with nothing staged");
            return ChunkStatus.Ok;
        }

        // Charge twice the batch: the WAL record and the memtable flush that follows.
        ChunkStatus admitted = freeSpace.Admit(2 * Batch.SizeBytes);
        if (admitted != ChunkStatus.Ok)
        {
            return admitted;
        }

        RocksDbStatus written = database.Write(Batch, sync ? syncedWrites : unsyncedWrites);
        if (!written.IsOk)
        {
            return written.Kind == RocksDbErrorKind.NoSpace ? ChunkStatus.NoSpace : ChunkStatus.IoError;
        }

        if (sync)
        {
            SyncedCommits++;
        }

        Batch.Clear();
        return ChunkStatus.Ok;
    }

    /// <summary>
    /// Replaces the space kept free under the database (tests: a log disk that fills up and then frees space, so
    /// a synced commit fails and a later one succeeds).
    /// </summary>
    internal void ChangeFreeSpaceReserve(long reserveBytes) => freeSpace = new FreeSpaceGuard(database.Path, reserveBytes);

    /// <summary>Admission check for a proposal of <paramref name="bytes"/> (leaders refuse writes before the log can't take them).</summary>
    public ChunkStatus AdmitProposal(long bytes) => freeSpace.Admit(bytes);

    /// <summary>Reads a per-group state value into <paramref name="value"/>; the length, or −1 when absent.</summary>
    public int ReadState(byte kind, ulong group, Span<byte> value)
    {
        Span<byte> key = stackalloc byte[RaftLogKeys.StateKeyBytes];
        RaftLogKeys.WriteStateKey(key, kind, group);
        RocksDbGetResult got = database.Get(family, key, value, readOptions);
        Invariant.Assert(got.Status.IsOk, "reading Raft state failed: " + got.Status);
        return got.Found ? got.ValueLengthBytes : -1;
    }

    /// <summary>Stages a per-group state value.</summary>
    public void StageState(byte kind, ulong group, ReadOnlySpan<byte> value)
    {
        Span<byte> key = stackalloc byte[RaftLogKeys.StateKeyBytes];
        RaftLogKeys.WriteStateKey(key, kind, group);
        Batch.Put(family, key, value);
    }

    /// <summary>Stages the removal of entries [<paramref name="low"/>, <paramref name="high"/>) of a group.</summary>
    public void StageDeleteEntries(ulong group, ulong low, ulong high)
    {
        Span<byte> start = stackalloc byte[RaftLogKeys.EntryKeyBytes];
        Span<byte> end = stackalloc byte[RaftLogKeys.EntryKeyBytes];
        RaftLogKeys.WriteEntryKey(start, group, low);
        RaftLogKeys.WriteEntryKey(end, group, high);
        Batch.DeleteRange(family, start, end);
    }

    /// <summary>Stages one entry.</summary>
    public void StageEntry(ulong group, in Entry entry)
    {
        Span<byte> key = stackalloc byte[RaftLogKeys.EntryKeyBytes];
        RaftLogKeys.WriteEntryKey(key, group, entry.Index);
        int length = 9 + entry.Data.Length;
        byte[]? rented = length > 512 ? System.Buffers.ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> value = rented is null ? stackalloc byte[length] : rented.AsSpan(0, length);
        BinaryPrimitives.WriteUInt64LittleEndian(value, entry.Term);
        value[8] = (byte)entry.Type;
        entry.Data.Span.CopyTo(value[9..]);
        Batch.Put(family, key, value);
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Appends a group's stored entries, in index order, to <paramref name="output"/> (startup only).</summary>
    public void LoadEntries(ulong group, List<Entry> output)
    {
        Span<byte> start = stackalloc byte[RaftLogKeys.EntryKeyBytes];
        Span<byte> end = stackalloc byte[RaftLogKeys.EntryKeyBytes];
        RaftLogKeys.WriteEntryKey(start, group, 0);
        RaftLogKeys.WriteEntryKey(end, group, ulong.MaxValue);
        using RocksDbIterator iterator = database.NewIterator(family, start, end);
        for (iterator.SeekToFirst(); iterator.Valid; iterator.Next())
        {
            ReadOnlySpan<byte> value = iterator.Value;
            ulong index = RaftLogKeys.ReadEntryIndex(iterator.Key);
            output.Add(new Entry(BinaryPrimitives.ReadUInt64LittleEndian(value), index, (EntryType)value[8], value[9..].ToArray()));
        }

        Invariant.Assert(iterator.Status().IsOk, "scanning the Raft log failed");
    }

    /// <summary>Appends the stored entries [<paramref name="low"/>, <paramref name="high"/>) of a group, stopping once
    /// <paramref name="maxBytes"/> would be exceeded (at least one entry).</summary>
    public void LoadEntries(ulong group, ulong low, ulong high, ulong maxBytes, List<Entry> output)
    {
        Span<byte> start = stackalloc byte[RaftLogKeys.EntryKeyBytes];
        Span<byte> end = stackalloc byte[RaftLogKeys.EntryKeyBytes];
        RaftLogKeys.WriteEntryKey(start, group, low);
        RaftLogKeys.WriteEntryKey(end, group, high);
        using RocksDbIterator iterator = database.NewIterator(family, start, end);
        ulong sizeBytes = 0;
        ulong expected = low;
        for (iterator.SeekToFirst(); iterator.Valid; iterator.Next())
        {
            ReadOnlySpan<byte> value = iterator.Value;
            ulong index = RaftLogKeys.ReadEntryIndex(iterator.Key);
            Invariant.Assert(index == expected, "the stored Raft log has a hole below the resident entries");
            var entry = new Entry(BinaryPrimitives.ReadUInt64LittleEndian(value), index, (EntryType)value[8], value[9..].ToArray());
            sizeBytes += entry.SizeBytes;
            if (index > low && sizeBytes > maxBytes)
            {
                break;
            }

            output.Add(entry);
            expected++;
        }

        Invariant.Assert(iterator.Status().IsOk, "scanning the Raft log failed");
        Invariant.Assert(expected > low, "a released Raft entry is missing from the database");
    }

    /// <summary>Group ids that have any hard state or bootstrap record (the groups this node hosted).</summary>
    public void ListGroups(List<ulong> groups)
    {
        ReadOnlySpan<byte> low = [RaftLogKeys.Bootstrap];
        ReadOnlySpan<byte> high = [RaftLogKeys.Bootstrap + 1];
        using RocksDbIterator iterator = database.NewIterator(family, low, high);
        for (iterator.SeekToFirst(); iterator.Valid; iterator.Next())
        {
            groups.Add(RaftLogKeys.ReadGroup(iterator.Key));
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Batch.Dispose();
        syncedWrites.Dispose();
        unsyncedWrites.Dispose();
        readOptions.Dispose();
        database.Dispose();
    }
}
