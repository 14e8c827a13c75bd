using System.Buffers.Binary;
using Sds.Raft;

namespace Sds.Storage.RaftLog;

/// <summary>
/// The Raft log of one group inside the shared <see cref="RaftLogEngine"/>: a write-through mirror in
/// memory and keys staged into the engine's batch. Every entry's index and term stay in memory; payloads only up
/// to <see cref="ResidentPayloadBytesMax"/>, newest kept: older ones are released once they are in RocksDB and read
/// back from there when a lagging member needs them (the soak showed 4096 retained 4 KiB entries per PG growing a
/// node by ~0.75 MB/s until 64 PGs × 16 MiB).
/// <see cref="Save"/> stages; the engine's <see cref="RaftLogEngine.Commit"/> makes a whole Ready cycle of
/// every group durable at once. The retained log is bounded by compaction after the chunk store flushed
/// (<see cref="Compact"/>), so memory stays proportional to the un-compacted tail.
/// </summary>
/// <remarks>
/// PG snapshots carry no data in Raft (the chunks stream through <c>Storage.FetchSnapshot</c>), so a
/// snapshot here is only its point: index, term and membership.
/// </remarks>
internal sealed class RaftLogStorage : IRaftLogStorage
{
    // entries[0] is a dummy for the snapshot point (its Index and Term are the snapshot's).
    // Invariant: entries.Count >= 1 and entries[i].Index == entries[0].Index + i.
    private readonly List<Entry> entries = [];
    private readonly RaftLogEngine engine;
    // Entries below this index have had their payloads released (read back from RocksDB); resident bytes are the
    // payloads from here to the end.
    private ulong releasedBelow;
    private long residentBytes;

    /// <summary>Payload bytes a group keeps in memory (the newest entries); older payloads are read from RocksDB.</summary>
    public const long ResidentPayloadBytesMax = 1L << 20;
    private HardState hardState;
    private ConfState confState;
    private Snapshot? snapshot;

    private RaftLogStorage(RaftLogEngine engine, ulong groupId)
    {
        this.engine = engine;
        GroupId = groupId;
        confState = ConfState.Empty;
    }

    /// <summary>The group's key in the shared database.</summary>
    public ulong GroupId { get; }

    /// <summary>Applied index whose effects on the chunk store are durable (persisted with <see cref="StageApplied"/>).</summary>
    public ulong DurableApplied { get; private set; }

    /// <summary>True when the group was bootstrapped before (it has a membership record).</summary>
    public bool Exists { get; private set; }

    /// <summary>
    /// Opens the group's log; a group never seen gets <paramref name="bootstrap"/> as its first membership
    /// (staged; durable with the next commit).
    /// </summary>
    public static RaftLogStorage Open(RaftLogEngine engine, ulong groupId, ConfState bootstrap)
    {
        var storage = new RaftLogStorage(engine, groupId);
        Span<byte> buffer = stackalloc byte[4096];
        int length = engine.ReadState(RaftLogKeys.Bootstrap, groupId, buffer);
        if (length < 0)
        {
            storage.confState = bootstrap;
            engine.StageState(RaftLogKeys.Bootstrap, groupId, EncodeConf(bootstrap, buffer));
            if (bootstrap.Voters.Count == 0)
            {
                storage.entries.Add(default); // a joining member: everything comes from the leader
                return storage;
            }

            // Bootstrap as a committed snapshot point (index 1, term 1) carrying the configuration, the one-step
            // equivalent of etcd appending committed ConfChange entries at term 1. Every bootstrap replica starts
            // identical, and index 1 is never in any log: a member added later must start from a snapshot, which
            // carries the configuration. Fed the log from index 1 instead, it would apply only the later changes
            // and believe itself the sole voter (a second group).
            var point = new SnapshotMetadata(1, 1, bootstrap);
            storage.snapshot = new Snapshot(point, ReadOnlyMemory<byte>.Empty);
            storage.entries.Add(new Entry(point.Term, point.Index, EntryType.Normal, ReadOnlyMemory<byte>.Empty));
            storage.StageSnapshotPoint(point);
            storage.Save(new HardState(point.Term, 0, point.Index), [], null);
            return storage;
        }

        storage.Exists = true;
        storage.confState = DecodeConf(buffer[..length], out _);
        length = engine.ReadState(RaftLogKeys.HardState, groupId, buffer);
        if (length == 24)
        {
            storage.hardState = new HardState(BinaryPrimitives.ReadUInt64LittleEndian(buffer), BinaryPrimitives.ReadUInt64LittleEndian(buffer[8..]), BinaryPrimitives.ReadUInt64LittleEndian(buffer[16..]));
        }

        length = engine.ReadState(RaftLogKeys.Snapshot, groupId, buffer);
        if (length >= 16)
        {
            ulong index = BinaryPrimitives.ReadUInt64LittleEndian(buffer);
            ulong term = BinaryPrimitives.ReadUInt64LittleEndian(buffer[8..]);
            ConfState conf = DecodeConf(buffer[16..length], out _);
            storage.snapshot = new Snapshot(new SnapshotMetadata(index, term, conf), ReadOnlyMemory<byte>.Empty);
            storage.confState = conf;
            storage.entries.Add(new Entry(term, index, EntryType.Normal, ReadOnlyMemory<byte>.Empty));
        }
        else
        {
            storage.entries.Add(default);
        }

        length = engine.ReadState(RaftLogKeys.Applied, groupId, buffer);
        storage.DurableApplied = length == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(buffer) : 0;

        var loaded = new List<Entry>();
        engine.LoadEntries(groupId, loaded);
        ulong expected = storage.entries[0].Index + 1;
        foreach (Entry entry in loaded)
        {
            // Entries at or below the snapshot point survive a crash between staging the snapshot and the range delete.
            if (entry.Index < expected)
            {
                continue;
            }

            Invariant.Assert(entry.Index == expected, "the stored Raft log has a hole");
            storage.entries.Add(entry);
            storage.residentBytes += entry.Data.Length;
            expected++;
        }

        // Every loaded entry is in RocksDB already.
        storage.ReleasePayloads();
        return storage;
    }

    /// <inheritdoc/>
    public HardState HardState => hardState;

    /// <inheritdoc/>
    public ConfState ConfState => confState;

    /// <inheritdoc/>
    public ulong FirstIndex => RaftEntryWindow.FirstIndex(entries);

    /// <inheritdoc/>
    public ulong LastIndex => RaftEntryWindow.LastIndex(entries);

    /// <inheritdoc/>
    public StorageStatus Term(ulong index, out ulong term)
        => RaftEntryWindow.Term(entries, index, out term);

    /// <inheritdoc/>
    public StorageStatus Entries(ulong low, ulong high, ulong maxBytes, List<Entry> output)
    {
        if (low >= releasedBelow || low <= entries[0].Index || high > LastIndex + 1)
        {
            return RaftEntryWindow.Entries(entries, low, high, maxBytes, output);
        }

        // A lagging member or a restart's replay: the released part comes from RocksDB, then the resident tail as
        // far as maxBytes allows (callers such as the conf-change replay ask for everything at once).
        int before = output.Count;
        engine.LoadEntries(GroupId, low, Math.Min(high, releasedBelow), maxBytes, output);
        ulong sizeBytes = 0;
        for (int i = before; i < output.Count; i++)
        {
            sizeBytes += output[i].SizeBytes;
        }

        ulong offset = entries[0].Index;
        for (ulong index = low + (ulong)(output.Count - before); index >= releasedBelow && index < high; index++)
        {
            Entry entry = entries[(int)(index - offset)];
            sizeBytes += entry.SizeBytes;
            if (sizeBytes > maxBytes)
            {
                break;
            }

            output.Add(entry);
        }

        return StorageStatus.Ok;
    }

    /// <summary>
    /// Releases the payloads of the oldest resident entries until at most <see cref="ResidentPayloadBytesMax"/>
    /// remain. Call only when every entry is in RocksDB (right after a successful engine commit).
    /// </summary>
    public void ReleasePayloads()
    {
        ulong offset = entries[0].Index;
        ulong start = Math.Max(releasedBelow, offset + 1);
        while (residentBytes > ResidentPayloadBytesMax && start <= LastIndex)
        {
            int at = (int)(start - offset);
            Entry entry = entries[at];
            residentBytes -= entry.Data.Length;
            entries[at] = new Entry(entry.Term, entry.Index, entry.Type, ReadOnlyMemory<byte>.Empty);
            start++;
        }

        releasedBelow = start;
    }

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
            InstallSnapshot(newSnapshot);
        }

        if (!newEntries.IsEmpty)
        {
            Append(newEntries);
        }

        if (newHardState is { } state)
        {
            hardState = state;
            Span<byte> value = stackalloc byte[24];
            BinaryPrimitives.WriteUInt64LittleEndian(value, state.Term);
            BinaryPrimitives.WriteUInt64LittleEndian(value[8..], state.Vote);
            BinaryPrimitives.WriteUInt64LittleEndian(value[16..], state.Commit);
            engine.StageState(RaftLogKeys.HardState, GroupId, value);
        }
    }

    /// <inheritdoc/>
    public void Sync() => Invariant.Assert(engine.Commit(sync: true) == Chunks.ChunkStatus.Ok, "single-group sync failed; the node host commits through the engine");

    /// <inheritdoc/>
    public StorageStatus CreateSnapshot(ulong index, ConfState snapshotConfState, ReadOnlyMemory<byte> data, out Snapshot? result)
    {
        result = null;
        if (snapshot is not null && index <= snapshot.Metadata.Index)
        {
            return StorageStatus.Compacted;
        }

        StorageStatus status = Term(index, out ulong term);
        if (status != StorageStatus.Ok)
        {
            return status;
        }

        // The data (a PG's applied COMPARE AND WRITE ids, PgReplica.SnapshotRequests) is kept in memory for the
        // snapshot messages this member sends; only the point is persisted. After a restart the loaded snapshot has
        // none until the next one is created (a flush) — the ids themselves are persisted as AppliedRequests.
        snapshot = new Snapshot(new SnapshotMetadata(index, term, snapshotConfState), data);
        confState = snapshotConfState;
        StageSnapshotPoint(snapshot.Metadata);
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
        int drop = (int)(index - offset);
        for (int i = 1; i <= drop; i++)
        {
            residentBytes -= entries[i].Data.Length; // a released entry's payload is already empty
        }

        Entry point = entries[drop];
        entries.RemoveRange(0, drop);
        entries[0] = new Entry(point.Term, point.Index, EntryType.Normal, ReadOnlyMemory<byte>.Empty);
        engine.StageDeleteEntries(GroupId, 0, index + 1);
        return StorageStatus.Ok;
    }

    /// <summary>Stages the applied index whose chunk-store effects are durable (restart re-applies only after it).</summary>
    public void StageApplied(ulong applied)
    {
        Invariant.Assert(applied >= DurableApplied, "the durable applied index never goes back");
        DurableApplied = applied;
        Span<byte> value = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(value, applied);
        engine.StageState(RaftLogKeys.Applied, GroupId, value);
    }

    /// <summary>The applied request ids staged by <see cref="StageAppliedRequests"/> (empty when none).</summary>
    public byte[] LoadAppliedRequests()
    {
        int length = engine.ReadState(RaftLogKeys.AppliedRequests, GroupId, []);
        if (length <= 0)
        {
            return [];
        }

        byte[] value = new byte[length];
        return engine.ReadState(RaftLogKeys.AppliedRequests, GroupId, value) == length ? value : [];
    }

    /// <summary>Stages the applied request ids (persisted with the applied index they belong to).</summary>
    public void StageAppliedRequests(ReadOnlySpan<byte> encoded) => engine.StageState(RaftLogKeys.AppliedRequests, GroupId, encoded);

    /// <summary>Stages the removal of every key of the group (the replica left the group).</summary>
    public void StageDestroy()
    {
        engine.StageDeleteEntries(GroupId, 0, ulong.MaxValue);
        Span<byte> stateKey = stackalloc byte[RaftLogKeys.StateKeyBytes];
        foreach (byte kind in (ReadOnlySpan<byte>)[RaftLogKeys.HardState, RaftLogKeys.Bootstrap, RaftLogKeys.Snapshot, RaftLogKeys.Applied, RaftLogKeys.AppliedRequests])
        {
            RaftLogKeys.WriteStateKey(stateKey, kind, GroupId);
            engine.Batch.Delete(engine.Family, stateKey);
        }
    }

    private void InstallSnapshot(Snapshot newSnapshot)
    {
        SnapshotMetadata metadata = newSnapshot.Metadata;
        snapshot = new Snapshot(metadata, newSnapshot.Data);
        confState = metadata.ConfState;
        entries.Clear();
        entries.Add(new Entry(metadata.Term, metadata.Index, EntryType.Normal, ReadOnlyMemory<byte>.Empty));
        releasedBelow = 0;
        residentBytes = 0;
        engine.StageDeleteEntries(GroupId, 0, ulong.MaxValue);
        StageSnapshotPoint(metadata);
        // The chunk data arrived before the snapshot was stepped (see PgReplica), so it is applied up to here — and
        // the snapshot's request ids (its data) are the ones that index answers exactly once.
        StageApplied(Math.Max(DurableApplied, metadata.Index));
        StageAppliedRequests(newSnapshot.Data.Span);
    }

    private void Append(ReadOnlySpan<Entry> newEntries)
    {
        ulong first = newEntries[0].Index;
        ulong offset = entries[0].Index;
        Invariant.Assert(first > offset, "appending below the snapshot point");
        Invariant.Assert(first <= LastIndex + 1, "appending leaves a hole in the log");
        if (first <= LastIndex)
        {
            // Raft §5.3: a conflicting suffix is replaced; drop it in memory and on disk (never a released entry:
            // those are applied, so committed).
            Invariant.Assert(first >= releasedBelow, "a conflicting suffix reaches released (committed) entries");
            for (int i = (int)(first - offset); i < entries.Count; i++)
            {
                residentBytes -= entries[i].Data.Length;
            }

            entries.RemoveRange((int)(first - offset), (int)(LastIndex - first + 1));
            engine.StageDeleteEntries(GroupId, first, ulong.MaxValue);
        }

        foreach (Entry entry in newEntries)
        {
            entries.Add(entry);
            residentBytes += entry.Data.Length;
            engine.StageEntry(GroupId, entry);
        }
    }

    private void StageSnapshotPoint(SnapshotMetadata metadata)
    {
        Span<byte> value = stackalloc byte[4096];
        BinaryPrimitives.WriteUInt64LittleEndian(value, metadata.Index);
        BinaryPrimitives.WriteUInt64LittleEndian(value[8..], metadata.Term);
        int length = 16 + EncodeConf(metadata.ConfState, value[16..]).Length;
        engine.StageState(RaftLogKeys.Snapshot, GroupId, value[..length]);
    }

    private static ReadOnlySpan<byte> EncodeConf(ConfState conf, Span<byte> buffer)
    {
        int at = 0;
        BinaryPrimitives.WriteInt32LittleEndian(buffer, conf.Voters.Count);
        at += 4;
        foreach (ulong voter in conf.Voters)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(buffer[at..], voter);
            at += 8;
        }

        BinaryPrimitives.WriteInt32LittleEndian(buffer[at..], conf.Learners.Count);
        at += 4;
        foreach (ulong learner in conf.Learners)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(buffer[at..], learner);
            at += 8;
        }

        return buffer[..at];
    }

    private static ConfState DecodeConf(ReadOnlySpan<byte> buffer, out int consumed)
    {
        int voterCount = BinaryPrimitives.ReadInt32LittleEndian(buffer);
        var voters = new ulong[voterCount];
        int at = 4;
        for (int i = 0; i < voterCount; i++, at += 8)
        {
            voters[i] = BinaryPrimitives.ReadUInt64LittleEndian(buffer[at..]);
        }

        int learnerCount = BinaryPrimitives.ReadInt32LittleEndian(buffer[at..]);
        at += 4;
        var learners = new ulong[learnerCount];
        for (int i = 0; i < learnerCount; i++, at += 8)
        {
            learners[i] = BinaryPrimitives.ReadUInt64LittleEndian(buffer[at..]);
        }

        consumed = at;
        return new ConfState(voters, learners);
    }
}
