using System.Buffers.Binary;
using Sds.Storage.RocksDb;

namespace Sds.Storage.Chunks;

/// <summary>
/// Chunks as block-granular keys in the "chunks" column family of a RocksDB database (key layout in
/// <see cref="RocksDbChunkKeys"/>; value = CRC32C little-endian (4 bytes) | block data). A write is
/// one write batch, so it is all-or-nothing, including on ENOSPC; UNMAP is one range delete; mapped
/// extents are a bounded key scan; a missing key is a zero block. With <c>syncWrites</c> every
/// batch is durable when it returns; otherwise <see cref="ChunkStore.Flush"/> syncs the WAL.
/// </summary>
internal sealed class RocksDbChunkStore : ChunkStore
{
    /// <summary>The column family holding block keys.</summary>
    public const string ColumnFamilyName = "chunks";

    /// <summary>
    /// A thread's reusable batch is dropped after a write that grew it past this, so a few large
    /// writes do not pin megabytes per thread forever.
    /// </summary>
    private const long BatchRetainedBytesMax = 1024 * 1024;

    /// <summary>
    /// Space kept free under the database by default: room for memtable flushes and compactions,
    /// and the margin that keeps RocksDB itself from ever meeting ENOSPC (see <see cref="FreeSpaceGuard"/>).
    /// </summary>
    public const long FreeSpaceReserveBytesDefault = 256L * 1024 * 1024;

    /// <summary>
    /// Bytes each block costs in the WAL beyond its data: key, CRC and record framing. Used to
    /// charge writes against the free-space budget.
    /// </summary>
    private const int BlockOverheadBytes = 64;

    private static ReadOnlySpan<byte> GeometryKey => "sds.chunk-geometry"u8;

    // Batches are reused per thread: a write runs on one thread from start to finish, so the batch
    // is never shared, and the write path allocates nothing after warm-up.
    [ThreadStatic]
    private static RocksDbWriteBatch? threadBatch;

    private readonly RocksDatabase database;
    private readonly RocksDbColumnFamily chunks;
    private readonly RocksDbWriteOptions writeOptions;
    private readonly RocksDbReadOptions readOptions;
    private readonly FreeSpaceGuard freeSpace;

    private RocksDbChunkStore(
        ChunkGeometry geometry, RocksDatabase database, RocksDbColumnFamily chunks, bool syncWrites, long freeSpaceReserveBytes)
        : base(geometry)
    {
        this.database = database;
        freeSpace = new FreeSpaceGuard(database.Path, freeSpaceReserveBytes);
        this.chunks = chunks;
        writeOptions = new RocksDbWriteOptions(sync: syncWrites);
        readOptions = new RocksDbReadOptions();
    }

    /// <summary>The database, for tests that damage values on purpose.</summary>
    internal RocksDatabase Database => database;

    /// <summary>The block column family, for tests that damage values on purpose.</summary>
    internal RocksDbColumnFamily Chunks => chunks;

    /// <summary>
    /// Opens (creating if needed) a store at <paramref name="path"/>. <paramref name="detail"/>
    /// carries RocksDB's own message when the open fails (a held LOCK gives
    /// <see cref="ChunkStatus.Unavailable"/>, as does a database created with another geometry).
    /// </summary>
    public static ChunkStatus Open(
        string path, ChunkGeometry geometry, bool syncWrites, out RocksDbChunkStore? store, out RocksDbStatus detail,
        long freeSpaceReserveBytes = FreeSpaceReserveBytesDefault)
    {
        store = null;
        using var options = new RocksDbOptions()
            .CreateIfMissing(true)
            .CreateMissingColumnFamilies(true)
            // Guest blocks are mostly incompressible or already compressed; CPU goes to CRCs instead.
            .Compression(RocksDbCompression.None)
            // Reads are point lookups of one block key each: bloom filters skip SST files that do
            // not hold the key, and hot blocks stay in the block cache.
            .OptimizeForPointLookup(blockCacheSizeMegabytes: 64)
            .WriteBufferSize(64L * 1024 * 1024)
            .Parallelism(2)
            .MaxOpenFiles(512);
        detail = RocksDatabase.Open(path, options, [ColumnFamilyName], out RocksDatabase? database);
        if (!detail.IsOk)
        {
            return detail.Kind is RocksDbErrorKind.Locked ? ChunkStatus.Unavailable : StatusFor(detail);
        }

        RocksDbColumnFamily chunks = database!.GetColumnFamily(ColumnFamilyName)!;
        detail = CheckGeometry(database, geometry, out ChunkStatus checkedGeometry);
        if (checkedGeometry != ChunkStatus.Ok)
        {
            database.Dispose();
            return checkedGeometry;
        }

        store = new RocksDbChunkStore(geometry, database, chunks, syncWrites, freeSpaceReserveBytes);
        return ChunkStatus.Ok;
    }

    /// <inheritdoc />
    protected override ChunkStatus ReadBlocks(in ChunkKey key, long offsetBytes, Span<byte> destination, Span<uint> checksums)
    {
        int blockSize = Geometry.BlockSizeBytes;
        uint firstBlock = (uint)(offsetBytes / blockSize);
        Span<byte> blockKey = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        Span<byte> value = stackalloc byte[sizeof(uint) + blockSize];
        for (int i = 0; i < checksums.Length; i++)
        {
            Span<byte> block = destination.Slice(i * blockSize, blockSize);
            RocksDbChunkKeys.Write(blockKey, key, firstBlock + (uint)i);
            RocksDbGetResult got = database.Get(chunks, blockKey, value, readOptions);
            if (!got.Status.IsOk)
            {
                return StatusFor(got.Status);
            }

            if (!got.Found)
            {
                block.Clear();
                checksums[i] = ZeroBlockChecksum;
                continue;
            }

            if (got.ValueLengthBytes != value.Length)
            {
                // A value of the wrong size cannot be a block: report it as a checksum failure
                // (the expected value is made unequal on purpose) so the caller repairs it.
                block.Clear();
                checksums[i] = ~Crc32C.Compute(block);
                continue;
            }

            checksums[i] = BinaryPrimitives.ReadUInt32LittleEndian(value);
            value[sizeof(uint)..].CopyTo(block);
        }

        return ChunkStatus.Ok;
    }

    /// <inheritdoc />
    protected override ChunkStatus WriteBlocks(in ChunkKey key, long offsetBytes, ReadOnlySpan<byte> source, ReadOnlySpan<uint> checksums)
    {
        int blockSize = Geometry.BlockSizeBytes;
        uint firstBlock = (uint)(offsetBytes / blockSize);
        Span<byte> blockKey = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        Span<byte> value = stackalloc byte[sizeof(uint) + blockSize];
        ChunkStatus admitted = freeSpace.Admit((long)checksums.Length * (blockSize + BlockOverheadBytes));
        if (admitted != ChunkStatus.Ok)
        {
            return admitted;
        }

        RocksDbWriteBatch batch = RentBatch();
        try
        {
            for (int i = 0; i < checksums.Length; i++)
            {
                RocksDbChunkKeys.Write(blockKey, key, firstBlock + (uint)i);
                BinaryPrimitives.WriteUInt32LittleEndian(value, checksums[i]);
                source.Slice(i * blockSize, blockSize).CopyTo(value[sizeof(uint)..]);
                batch.Put(chunks, blockKey, value);
            }

            return StatusFor(database.Write(batch, writeOptions));
        }
        finally
        {
            ReturnBatch(batch);
        }
    }

    /// <inheritdoc />
    protected override ChunkStatus WriteSameBlocks(in ChunkKey key, long offsetBytes, int lengthBytes, ReadOnlySpan<byte> block, uint checksum)
    {
        int blockSize = Geometry.BlockSizeBytes;
        uint firstBlock = (uint)(offsetBytes / blockSize);
        int blockCount = lengthBytes / blockSize;
        Span<byte> blockKey = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        Span<byte> value = stackalloc byte[sizeof(uint) + blockSize];
        BinaryPrimitives.WriteUInt32LittleEndian(value, checksum);
        block.CopyTo(value[sizeof(uint)..]);
        ChunkStatus admitted = freeSpace.Admit((long)blockCount * (blockSize + BlockOverheadBytes));
        if (admitted != ChunkStatus.Ok)
        {
            return admitted;
        }

        RocksDbWriteBatch batch = RentBatch();
        try
        {
            for (int i = 0; i < blockCount; i++)
            {
                RocksDbChunkKeys.Write(blockKey, key, firstBlock + (uint)i);
                batch.Put(chunks, blockKey, value);
            }

            return StatusFor(database.Write(batch, writeOptions));
        }
        finally
        {
            ReturnBatch(batch);
        }
    }

    /// <inheritdoc />
    protected override ChunkStatus UnmapBlocks(in ChunkKey key, long offsetBytes, int lengthBytes)
    {
        int blockSize = Geometry.BlockSizeBytes;
        Span<byte> startKey = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        Span<byte> endKey = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        RocksDbChunkKeys.Write(startKey, key, (uint)(offsetBytes / blockSize));
        RocksDbChunkKeys.Write(endKey, key, (uint)((offsetBytes + lengthBytes) / blockSize));
        return StatusFor(database.DeleteRange(chunks, startKey, endKey, writeOptions));
    }

    /// <inheritdoc />
    protected override ChunkStatus MappedExtents(
        in ChunkKey key, long offsetBytes, int lengthBytes, Span<ChunkExtent> extents, out int extentCount)
    {
        extentCount = 0;
        int blockSize = Geometry.BlockSizeBytes;
        Span<byte> startKey = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        Span<byte> endKey = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        RocksDbChunkKeys.Write(startKey, key, (uint)(offsetBytes / blockSize));
        RocksDbChunkKeys.Write(endKey, key, (uint)((offsetBytes + lengthBytes) / blockSize));
        using RocksDbIterator iterator = database.NewIterator(chunks, startKey, endKey, fillCache: false);
        long runStart = -1;
        long runEnd = -1;
        for (iterator.SeekToFirst(); iterator.Valid; iterator.Next())
        {
            bool parsed = RocksDbChunkKeys.TryRead(iterator.Key, out _, out uint blockIndex);
            Invariant.Assert(parsed, "the bounds keep the scan inside this chunk's keys");
            long blockOffset = (long)blockIndex * blockSize;
            if (blockOffset == runEnd)
            {
                runEnd += blockSize;
                continue;
            }

            if (runStart >= 0)
            {
                extents[extentCount++] = new ChunkExtent(runStart, runEnd - runStart);
                if (extentCount == extents.Length)
                {
                    return StatusFor(iterator.Status());
                }
            }

            runStart = blockOffset;
            runEnd = blockOffset + blockSize;
        }

        if (runStart >= 0)
        {
            extents[extentCount++] = new ChunkExtent(runStart, runEnd - runStart);
        }

        return StatusFor(iterator.Status());
    }

    /// <inheritdoc />
    protected override ChunkStatus FlushAll()
        => writeOptions.Sync ? ChunkStatus.Ok : StatusFor(database.FlushWal(sync: true));

    /// <inheritdoc />
    protected override ChunkStatus DeleteChunkBlocks(in ChunkKey key)
    {
        Span<byte> startKey = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        Span<byte> endKey = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        RocksDbChunkKeys.Write(startKey, key, 0);
        RocksDbChunkKeys.Write(endKey, key, (uint)Geometry.BlocksPerChunk);
        return StatusFor(database.DeleteRange(chunks, startKey, endKey, writeOptions));
    }

    /// <inheritdoc />
    protected override ChunkStatus ListChunkKeys(Guid? volumeId, List<ChunkKey> chunkKeys)
    {
        Span<byte> lowerBound = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        Span<byte> upperBound = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        Span<byte> next = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        if (volumeId is not null)
        {
            RocksDbChunkKeys.Write(lowerBound, new ChunkKey(volumeId.Value, 0), 0);
            RocksDbChunkKeys.Write(upperBound, new ChunkKey(volumeId.Value, ulong.MaxValue), uint.MaxValue);
        }

        using RocksDbIterator iterator = volumeId is null
            ? database.NewIterator(chunks, fillCache: false)
            : database.NewIterator(chunks, lowerBound, upperBound, fillCache: false);
        iterator.SeekToFirst();
        while (iterator.Valid)
        {
            if (!RocksDbChunkKeys.TryRead(iterator.Key, out ChunkKey chunk, out _))
            {
                return ChunkStatus.IoError;
            }

            chunkKeys.Add(chunk);

            // Skip the rest of this chunk's blocks: one seek per chunk, not one step per block.
            // Block indexes stay below BlocksPerChunk, so this key sorts after every block of the
            // chunk and before the next chunk, even after chunk index 2^64-1 of a volume.
            RocksDbChunkKeys.Write(next, chunk, (uint)Geometry.BlocksPerChunk);
            iterator.Seek(next);
        }

        return StatusFor(iterator.Status());
    }

    /// <inheritdoc />
    protected override void Close()
    {
        readOptions.Dispose();
        writeOptions.Dispose();
        database.Dispose();
    }

    private static ChunkStatus StatusFor(RocksDbStatus status) => status.Kind switch
    {
        RocksDbErrorKind.None => ChunkStatus.Ok,
        RocksDbErrorKind.NoSpace => ChunkStatus.NoSpace,
        _ => ChunkStatus.IoError,
    };

    private static RocksDbStatus CheckGeometry(RocksDatabase database, ChunkGeometry geometry, out ChunkStatus status)
    {
        Span<byte> expected = stackalloc byte[2 * sizeof(int)];
        BinaryPrimitives.WriteInt32BigEndian(expected, geometry.ChunkSizeBytes);
        BinaryPrimitives.WriteInt32BigEndian(expected[sizeof(int)..], geometry.BlockSizeBytes);
        Span<byte> stored = stackalloc byte[2 * sizeof(int)];
        using var readOptions = new RocksDbReadOptions();
        RocksDbGetResult got = database.Get(database.DefaultColumnFamily, GeometryKey, stored, readOptions);
        if (!got.Status.IsOk)
        {
            status = StatusFor(got.Status);
            return got.Status;
        }

        if (got.Found)
        {
            status = got.ValueLengthBytes == expected.Length && stored.SequenceEqual(expected) ? ChunkStatus.Ok : ChunkStatus.Unavailable;
            return RocksDbStatus.Ok;
        }

        using var writeOptions = new RocksDbWriteOptions(sync: true);
        RocksDbStatus put = database.Put(database.DefaultColumnFamily, GeometryKey, expected, writeOptions);
        status = StatusFor(put);
        return put;
    }

    private static RocksDbWriteBatch RentBatch()
    {
        RocksDbWriteBatch? batch = threadBatch;
        threadBatch = null;
        return batch ?? new RocksDbWriteBatch();
    }

    private static void ReturnBatch(RocksDbWriteBatch batch)
    {
        if (batch.SizeBytes > BatchRetainedBytesMax)
        {
            batch.Dispose();
            return;
        }

        batch.Clear();
        threadBatch = batch;
    }
}
