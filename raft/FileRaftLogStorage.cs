using System.Buffers.Binary;

namespace Sds.Raft;

/// <summary>
/// A durable <see cref="IRaftLogStorage"/> for the meta service: one append-only segment file of
/// checksummed records plus one snapshot file, with the retained log also kept in memory for reads.
/// </summary>
/// <remarks>
/// <para>Segment <c>raft.log</c>: records <c>[u32 payload length][u32 CRC-32C of payload][payload]</c>, the
/// payload starting with a <see cref="FileRecordType"/>. Replaying it rebuilds the log: an entry whose index
/// is at or below the last one truncates the suffix first (the same rule <see cref="Save"/> follows).
/// <see cref="Sync"/> is one fsync of the segment.</para>
/// <para>Each <see cref="Save"/> is one atomic group of records closed by a group-end record; replay applies
/// a group only when it reaches its end, so a Ready is never half-persisted (new entries without the hard
/// state, or a commit index without its entries).</para>
/// <para>Recovery: a record that is short or fails its checksum ends the replay and the file is truncated
/// at the end of the last complete group. A crash can only tear the tail (records are appended and synced in order), so this drops exactly
/// the writes that were never synced — which Raft never relied on, as nothing was acknowledged before
/// <see cref="Sync"/> returned. Corruption in the middle is indistinguishable and would also be truncated;
/// detecting it needs a second copy (out of scope).</para>
/// <para>Snapshot <c>snapshot.bin</c> is written to a temporary file, fsynced and renamed into place.
/// <see cref="Compact"/> rewrites the segment (bootstrap, hard state, retained entries) the same way; it is
/// rare and proportional to the retained log. Known gap: the directory itself is not fsynced after a
/// rename, so on some file systems a power loss right after a rename may keep the old file.</para>
/// <para>I/O errors surface as exceptions from the file APIs, and <see cref="Open"/> throws
/// <see cref="InvalidDataException"/> for a corrupt snapshot file or a log that doesn't line up with it: these
/// are operating errors for the caller's edge, which must not start the member on lost state.</para>
/// </remarks>
public sealed class FileRaftLogStorage : IRaftLogStorage, IDisposable
{
    private const string SegmentFileName = "raft.log";
    private const string SnapshotFileName = "snapshot.bin";
    private const int RecordHeaderBytes = 8;
    private const int RecordPayloadMaxBytes = 64 * 1024 * 1024;
    private const uint SnapshotMagic = 0x50414E53; // "SNAP"

    private readonly string directory;
    private readonly ConfState bootstrap;
    private MemoryRaftLogStorage memory;
    private FileStream segment;
    private byte[] recordBuffer = new byte[4096];

    private FileRaftLogStorage(string directory, ConfState bootstrap, MemoryRaftLogStorage memory, FileStream segment)
    {
        this.directory = directory;
        this.bootstrap = bootstrap;
        this.memory = memory;
        this.segment = segment;
    }

    /// <summary>Bytes cut off the segment's torn tail when it was opened (0 after a clean shutdown).</summary>
    public long RecoveredTruncatedBytes { get; private set; }

    /// <inheritdoc/>
    public HardState HardState => memory.HardState;

    /// <inheritdoc/>
    public ConfState ConfState => memory.ConfState;

    /// <inheritdoc/>
    public ulong FirstIndex => memory.FirstIndex;

    /// <inheritdoc/>
    public ulong LastIndex => memory.LastIndex;

    /// <summary>
    /// Opens the log in <paramref name="directory"/>, recovering it, or creates it with
    /// <paramref name="bootstrap"/> membership (ignored when the log exists: its own bootstrap wins).
    /// </summary>
    public static FileRaftLogStorage Open(string directory, ConfState bootstrap)
    {
        Directory.CreateDirectory(directory);
        string segmentPath = Path.Combine(directory, SegmentFileName);
        bool fresh = !File.Exists(segmentPath);
        Snapshot? snapshot = ReadSnapshotFile(Path.Combine(directory, SnapshotFileName));
        FileStream segment = new(segmentPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 64 * 1024);
        FileRaftLogStorage storage;
        if (fresh || segment.Length == 0)
        {
            storage = new FileRaftLogStorage(directory, bootstrap, new MemoryRaftLogStorage(bootstrap), segment);
            storage.WriteBootstrap(bootstrap);
            storage.WriteGroupEnd();
            storage.Sync();
            return storage;
        }

        FileLogReplay replay;
        ConfState recoveredBootstrap;
        MemoryRaftLogStorage memory;
        try
        {
            replay = ReplaySegment(segment);
            recoveredBootstrap = replay.Bootstrap ?? bootstrap;
            memory = Rebuild(recoveredBootstrap, replay, snapshot);
        }
        catch
        {
            segment.Dispose();
            throw;
        }

        storage = new FileRaftLogStorage(directory, recoveredBootstrap, memory, segment)
        {
            RecoveredTruncatedBytes = replay.TruncatedBytes,
        };
        segment.Seek(0, SeekOrigin.End);
        return storage;
    }

    /// <inheritdoc/>
    public StorageStatus Term(ulong index, out ulong term) => memory.Term(index, out term);

    /// <inheritdoc/>
    public StorageStatus Entries(ulong low, ulong high, ulong maxBytes, List<Entry> output) => memory.Entries(low, high, maxBytes, output);

    /// <inheritdoc/>
    public StorageStatus Snapshot(out Snapshot? snapshot) => memory.Snapshot(out snapshot);

    /// <inheritdoc/>
    public void Save(HardState? hardState, ReadOnlySpan<Entry> entries, Snapshot? snapshot)
    {
        if (snapshot is not null)
        {
            // The snapshot file is durable before the record that says the log now starts there.
            WriteSnapshotFile(snapshot);
            memory.Save(null, [], snapshot);
            WriteSnapshotBase(snapshot.Metadata.Index, snapshot.Metadata.Term);
        }

        foreach (Entry entry in entries)
        {
            WriteEntry(entry);
        }

        memory.Save(null, entries, null);
        if (hardState is { } state)
        {
            WriteHardState(state);
            memory.Save(state, [], null);
        }

        WriteGroupEnd();
    }

    /// <inheritdoc/>
    public void Sync() => segment.Flush(flushToDisk: true);

    /// <summary>Pushes buffered records to the OS without fsync (tests find record boundaries with it).</summary>
    internal void FlushToOperatingSystem() => segment.Flush(flushToDisk: false);

    /// <summary>Current segment length in bytes, buffered records included.</summary>
    internal long SegmentLengthBytes => segment.Length;

    /// <inheritdoc/>
    public StorageStatus CreateSnapshot(ulong index, ConfState confState, ReadOnlyMemory<byte> data, out Snapshot? snapshot)
    {
        StorageStatus status = memory.CreateSnapshot(index, confState, data, out snapshot);
        if (status == StorageStatus.Ok)
        {
            WriteSnapshotFile(snapshot!);
        }

        return status;
    }

    /// <inheritdoc/>
    public StorageStatus Compact(ulong index)
    {
        StorageStatus status = memory.Compact(index);
        if (status != StorageStatus.Ok)
        {
            return status;
        }

        // Rewrite the segment with what is retained, then swap it in.
        string path = Path.Combine(directory, SegmentFileName);
        string temporary = path + ".tmp";
        segment.Flush(flushToDisk: true);
        segment.Dispose();
        segment = new FileStream(temporary, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 64 * 1024);
        WriteBootstrap(bootstrap);

        // The log now starts after (index, term): recovery needs that point to line the suffix up with the
        // snapshot file even when the compaction reached the snapshot's own index.
        Invariant.Assert(memory.Term(index, out ulong baseTerm) == StorageStatus.Ok, "compaction point must have a term");
        WriteSnapshotBase(index, baseTerm);
        List<Entry> retained = [];
        if (memory.FirstIndex <= memory.LastIndex)
        {
            memory.Entries(memory.FirstIndex, memory.LastIndex + 1, ulong.MaxValue, retained);
        }

        foreach (Entry entry in retained)
        {
            WriteEntry(entry);
        }

        WriteHardState(memory.HardState);
        WriteGroupEnd();
        segment.Flush(flushToDisk: true);
        segment.Dispose();
        File.Move(temporary, path, overwrite: true);
        segment = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 64 * 1024);
        segment.Seek(0, SeekOrigin.End);
        return StorageStatus.Ok;
    }

    /// <summary>Syncs and closes the segment.</summary>
    public void Dispose()
    {
        segment.Flush(flushToDisk: true);
        segment.Dispose();
    }

    private void WriteEntry(Entry entry)
    {
        int length = 18 + entry.Data.Length;
        if (recordBuffer.Length < length)
        {
            recordBuffer = new byte[Math.Max(length, recordBuffer.Length * 2)];
        }

        Span<byte> record = recordBuffer.AsSpan(0, length);
        record[0] = (byte)FileRecordType.Entry;
        BinaryPrimitives.WriteUInt64LittleEndian(record[1..], entry.Term);
        BinaryPrimitives.WriteUInt64LittleEndian(record[9..], entry.Index);
        record[17] = (byte)entry.Type;
        entry.Data.Span.CopyTo(record[18..]);
        WriteRecord(record);
    }

    private void WriteGroupEnd()
    {
        Span<byte> record = [(byte)FileRecordType.GroupEnd];
        WriteRecord(record);
    }

    private void WriteSnapshotBase(ulong index, ulong term)
    {
        Span<byte> record = stackalloc byte[17];
        record[0] = (byte)FileRecordType.SnapshotBase;
        BinaryPrimitives.WriteUInt64LittleEndian(record[1..], index);
        BinaryPrimitives.WriteUInt64LittleEndian(record[9..], term);
        WriteRecord(record);
    }

    private void WriteHardState(HardState state)
    {
        Span<byte> record = stackalloc byte[25];
        record[0] = (byte)FileRecordType.HardState;
        BinaryPrimitives.WriteUInt64LittleEndian(record[1..], state.Term);
        BinaryPrimitives.WriteUInt64LittleEndian(record[9..], state.Vote);
        BinaryPrimitives.WriteUInt64LittleEndian(record[17..], state.Commit);
        WriteRecord(record);
    }

    private void WriteBootstrap(ConfState confState)
    {
        byte[] record = new byte[1 + EncodedConfStateBytes(confState)];
        record[0] = (byte)FileRecordType.Bootstrap;
        EncodeConfState(confState, record.AsSpan(1));
        WriteRecord(record);
    }

    private void WriteRecord(ReadOnlySpan<byte> payload)
    {
        Invariant.Assert(payload.Length <= RecordPayloadMaxBytes, "record larger than the segment's limit");
        Span<byte> header = stackalloc byte[RecordHeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32C.Compute(payload));
        segment.Write(header);
        segment.Write(payload);
    }

    private static FileLogReplay ReplaySegment(FileStream segment)
    {
        FileLogReplay replay = new();
        segment.Seek(0, SeekOrigin.Begin);
        byte[] header = new byte[RecordHeaderBytes];
        long goodOffset = 0;
        while (true)
        {
            if (!ReadFully(segment, header))
            {
                break;
            }

            uint length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            uint checksum = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
            if (length == 0 || length > RecordPayloadMaxBytes)
            {
                break;
            }

            byte[] payload = new byte[length];
            if (!ReadFully(segment, payload) || Crc32C.Compute(payload) != checksum)
            {
                break;
            }

            if (replay.Take(payload))
            {
                goodOffset = segment.Position;
            }
        }

        replay.TruncatedBytes = segment.Length - goodOffset;
        if (replay.TruncatedBytes > 0)
        {
            // The torn tail: never synced, never acknowledged. Cut it so new records follow good ones.
            segment.SetLength(goodOffset);
            segment.Flush(flushToDisk: true);
        }

        return replay;
    }

    private static MemoryRaftLogStorage Rebuild(ConfState bootstrap, FileLogReplay replay, Snapshot? snapshot)
    {
        MemoryRaftLogStorage memory = new(bootstrap);
        List<Entry> entries = replay.Entries;
        if (snapshot is not null)
        {
            SnapshotMetadata metadata = snapshot.Metadata;
            memory.Save(null, [], snapshot);

            // Keep the suffix after the snapshot only if the log agrees with it at the snapshot point (it
            // does unless we crashed while installing a leader's snapshot, which replaces the whole log).
            bool agrees = (replay.BaseIndex == metadata.Index && replay.BaseTerm == metadata.Term)
                || entries.Exists(e => e.Index == metadata.Index && e.Term == metadata.Term);
            entries = agrees ? entries.FindAll(e => e.Index > metadata.Index) : [];
        }

        if (entries.Count > 0)
        {
            if (entries[0].Index != memory.LastIndex + 1)
            {
                throw new InvalidDataException($"raft log starts at {entries[0].Index} but the snapshot ends at {memory.LastIndex}");
            }

            memory.Save(null, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(entries), null);
        }

        if (replay.HardState is { } state)
        {
            ulong commit = Math.Min(state.Commit, memory.LastIndex);
            memory.Save(state with { Commit = Math.Max(commit, memory.FirstIndex - 1) }, [], null);
        }

        return memory;
    }

    private void WriteSnapshotFile(Snapshot snapshot)
    {
        string path = Path.Combine(directory, SnapshotFileName);
        string temporary = path + ".tmp";
        ConfState confState = snapshot.Metadata.ConfState;
        int confBytes = EncodedConfStateBytes(confState);
        byte[] body = new byte[16 + confBytes + 4 + snapshot.Data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(body, snapshot.Metadata.Index);
        BinaryPrimitives.WriteUInt64LittleEndian(body.AsSpan(8), snapshot.Metadata.Term);
        EncodeConfState(confState, body.AsSpan(16));
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(16 + confBytes), snapshot.Data.Length);
        snapshot.Data.Span.CopyTo(body.AsSpan(20 + confBytes));
        using (FileStream file = new(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            Span<byte> header = stackalloc byte[12];
            BinaryPrimitives.WriteUInt32LittleEndian(header, SnapshotMagic);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)body.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Compute(body));
            file.Write(header);
            file.Write(body);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    private static Snapshot? ReadSnapshotFile(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        // The file is only ever renamed into place complete, so a bad one is corruption, not a torn write:
        // refuse to start rather than silently lose the state it held.
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 12 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != SnapshotMagic)
        {
            throw new InvalidDataException($"{path}: not a snapshot file");
        }

        int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
        ReadOnlySpan<byte> body = bytes.AsSpan(12);
        if (body.Length != length || Crc32C.Compute(body) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)))
        {
            throw new InvalidDataException($"{path}: snapshot checksum mismatch");
        }

        ulong index = BinaryPrimitives.ReadUInt64LittleEndian(body);
        ulong term = BinaryPrimitives.ReadUInt64LittleEndian(body[8..]);
        ConfState confState = DecodeConfState(body[16..], out int confBytes);
        int dataLength = BinaryPrimitives.ReadInt32LittleEndian(body[(16 + confBytes)..]);
        byte[] data = body.Slice(20 + confBytes, dataLength).ToArray();
        return new Snapshot(new SnapshotMetadata(index, term, confState), data);
    }

    private static int EncodedConfStateBytes(ConfState confState) => 8 + (8 * (confState.Voters.Count + confState.Learners.Count));

    private static void EncodeConfState(ConfState confState, Span<byte> output)
    {
        int offset = 0;
        foreach (IReadOnlyList<ulong> ids in new[] { confState.Voters, confState.Learners })
        {
            BinaryPrimitives.WriteInt32LittleEndian(output[offset..], ids.Count);
            offset += 4;
            foreach (ulong id in ids)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(output[offset..], id);
                offset += 8;
            }
        }
    }

    internal static ConfState DecodeConfState(ReadOnlySpan<byte> input, out int consumed)
    {
        ulong[][] lists = new ulong[2][];
        int offset = 0;
        for (int list = 0; list < 2; list++)
        {
            int count = BinaryPrimitives.ReadInt32LittleEndian(input[offset..]);
            offset += 4;
            lists[list] = new ulong[count];
            for (int i = 0; i < count; i++)
            {
                lists[list][i] = BinaryPrimitives.ReadUInt64LittleEndian(input[offset..]);
                offset += 8;
            }
        }

        consumed = offset;
        return new ConfState(lists[0], lists[1]);
    }

    private static bool ReadFully(FileStream stream, byte[] buffer)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = stream.Read(buffer, read, buffer.Length - read);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }
}
