using System.Buffers;
using System.Buffers.Binary;
using Sds.Storage.RocksDb;

namespace Sds.Storage.Chunks;

/// <summary>
/// Chunks as block-granular keys in the "chunks" column family of a RocksDB database (key layout in
/// <see cref="RocksDbChunkKeys"/>; value = CRC32C little-endian (4 bytes) | block data), plus one
/// allocation map per chunk (a <see cref="BlockBitmap"/>) in "chunk-maps", updated in the same
/// write batch as the blocks. A write is one batch, so it is all-or-nothing, including on ENOSPC;
/// UNMAP is one range delete plus the map update; a missing key is a zero block. Mapped extents
/// come from the map, one point read, because scanning block keys reads every 4 KiB value
/// (measured: about 10 ms per fully mapped 4 MiB chunk) and GET LBA STATUS must be cheap
/// (DESIGN.md §10). With <c>syncWrites</c> every batch is durable when it returns; otherwise
/// <see cref="ChunkStore.Flush"/> syncs the WAL.
/// </summary>
internal sealed class RocksDbChunkStore : ChunkStore
{
    /// <summary>The column family holding block keys.</summary>
    public const string ColumnFamilyName = "chunks";

    /// <summary>The column family holding one allocation map per chunk that has mapped blocks.</summary>
    public const string MapColumnFamilyName = "chunk-maps";

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
    private readonly RocksDbColumnFamily maps;
    private readonly RocksDbWriteOptions writeOptions;
    private readonly RocksDbReadOptions readOptions;
    private readonly FreeSpaceGuard freeSpace;

    private RocksDbChunkStore(
        ChunkGeometry geometry, RocksDatabase database, RocksDbColumnFamily chunks, RocksDbColumnFamily maps,
        bool syncWrites, long freeSpaceReserveBytes)
        : base(geometry)
    {
        this.database = database;
        this.chunks = chunks;
        this.maps = maps;
        freeSpace = new FreeSpaceGuard(database.Path, freeSpaceReserveBytes);
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
        detail = RocksDatabase.Open(path, options, [ColumnFamilyName, MapColumnFamilyName], out RocksDatabase? database);
        if (!detail.IsOk)
        {
            return detail.Kind is RocksDbErrorKind.Locked ? ChunkStatus.Unavailable : StatusFor(detail);
        }

        RocksDbColumnFamily chunks = database!.GetColumnFamily(ColumnFamilyName)!;
        RocksDbColumnFamily maps = database.GetColumnFamily(MapColumnFamilyName)!;
        detail = CheckGeometry(database, geometry, out ChunkStatus checkedGeometry);
        if (checkedGeometry != ChunkStatus.Ok)
        {
            database.Dispose();
            return checkedGeometry;
        }

        store = new RocksDbChunkStore(geometry, database, chunks, maps, syncWrites, freeSpaceReserveBytes);
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
        int firstBlock = (int)(offsetBytes / blockSize);
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
                RocksDbChunkKeys.Write(blockKey, key, (uint)(firstBlock + i));
                BinaryPrimitives.WriteUInt32LittleEndian(value, checksums[i]);
                source.Slice(i * blockSize, blockSize).CopyTo(value[sizeof(uint)..]);
                batch.Put(chunks, blockKey, value);
            }

            return CommitWithMap(batch, key, firstBlock, checksums.Length, mapped: true);
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
        int firstBlock = (int)(offsetBytes / blockSize);
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
                RocksDbChunkKeys.Write(blockKey, key, (uint)(firstBlock + i));
                batch.Put(chunks, blockKey, value);
            }

            return CommitWithMap(batch, key, firstBlock, blockCount, mapped: true);
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
        int firstBlock = (int)(offsetBytes / blockSize);
        int blockCount = lengthBytes / blockSize;
        Span<byte> startKey = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        Span<byte> endKey = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        RocksDbChunkKeys.Write(startKey, key, (uint)firstBlock);
        RocksDbChunkKeys.Write(endKey, key, (uint)(firstBlock + blockCount));
        RocksDbWriteBatch batch = RentBatch();
        try
        {
            batch.DeleteRange(chunks, startKey, endKey);
            return CommitWithMap(batch, key, firstBlock, blockCount, mapped: false);
        }
        finally
        {
            ReturnBatch(batch);
        }
    }

    /// <inheritdoc />
    protected override ChunkStatus MappedExtents(
        in ChunkKey key, long offsetBytes, int lengthBytes, Span<ChunkExtent> extents, out int extentCount)
    {
        extentCount = 0;
        int blockSize = Geometry.BlockSizeBytes;
        int mapBytes = BlockBitmap.BytesFor(Geometry.BlocksPerChunk);
        byte[] map = ArrayPool<byte>.Shared.Rent(mapBytes);
        try
        {
            ChunkStatus loaded = LoadMap(key, map.AsSpan(0, mapBytes));
            if (loaded != ChunkStatus.Ok)
            {
                return loaded;
            }

            extentCount = BlockBitmap.ToExtents(map.AsSpan(0, mapBytes), (int)(offsetBytes / blockSize), lengthBytes / blockSize, blockSize, extents);
            return ChunkStatus.Ok;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(map);
        }
    }

    /// <inheritdoc />
    protected override ChunkStatus FlushAll()
        => writeOptions.Sync ? ChunkStatus.Ok : StatusFor(database.FlushWal(sync: true));

    /// <inheritdoc />
    protected override ChunkStatus DeleteChunkBlocks(in ChunkKey key)
    {
        Span<byte> startKey = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        Span<byte> endKey = stackalloc byte[RocksDbChunkKeys.KeyBytes];
        Span<byte> prefix = stackalloc byte[RocksDbChunkKeys.ChunkPrefixBytes];
        RocksDbChunkKeys.Write(startKey, key, 0);
        RocksDbChunkKeys.Write(endKey, key, (uint)Geometry.BlocksPerChunk);
        RocksDbChunkKeys.WriteChunkPrefix(prefix, key);
        RocksDbWriteBatch batch = RentBatch();
        try
        {
            batch.DeleteRange(chunks, startKey, endKey);
            batch.Delete(maps, prefix);
            return StatusFor(database.Write(batch, writeOptions));
        }
        finally
        {
            ReturnBatch(batch);
        }
    }

    /// <inheritdoc />
    protected override ChunkStatus ListChunkKeys(Guid? volumeId, List<ChunkKey> chunkKeys)
    {
        // The maps hold one small key per chunk with mapped blocks: listing reads no block data.
        Span<byte> lowerBound = stackalloc byte[RocksDbChunkKeys.ChunkPrefixBytes];
        Span<byte> upperBound = stackalloc byte[RocksDbChunkKeys.ChunkPrefixBytes + 1];
        if (volumeId is not null)
        {
            RocksDbChunkKeys.WriteChunkPrefix(lowerBound, new ChunkKey(volumeId.Value, 0));
            RocksDbChunkKeys.WriteChunkPrefix(upperBound, new ChunkKey(volumeId.Value, ulong.MaxValue));
            // One byte past the last chunk's prefix, so chunk 2^64-1 is inside the bound.
            upperBound[^1] = 0;
        }

        using RocksDbIterator iterator = volumeId is null
            ? database.NewIterator(maps, fillCache: false)
            : database.NewIterator(maps, lowerBound, upperBound, fillCache: false);
        for (iterator.SeekToFirst(); iterator.Valid; iterator.Next())
        {
            if (!RocksDbChunkKeys.TryReadChunkPrefix(iterator.Key, out ChunkKey chunk))
            {
                return ChunkStatus.IoError;
            }

            chunkKeys.Add(chunk);
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

    /// <summary>
    /// Reads the chunk's allocation map into <paramref name="map"/> (all clear when the chunk has
    /// none). A stored map of the wrong size is damaged metadata and reads as an I/O error.
    /// </summary>
    private ChunkStatus LoadMap(in ChunkKey key, Span<byte> map)
    {
        Span<byte> prefix = stackalloc byte[RocksDbChunkKeys.ChunkPrefixBytes];
        RocksDbChunkKeys.WriteChunkPrefix(prefix, key);
        RocksDbGetResult got = database.Get(maps, prefix, map, readOptions);
        if (!got.Status.IsOk)
        {
            return StatusFor(got.Status);
        }

        if (!got.Found)
        {
            map.Clear();
            return ChunkStatus.Ok;
        }

        return got.ValueLengthBytes == map.Length ? ChunkStatus.Ok : ChunkStatus.IoError;
    }

    /// <summary>
    /// Adds the chunk's map update (when a bit changes) to <paramref name="batch"/> and writes it:
    /// blocks and map change together or not at all. Called under the chunk's lock, which keeps
    /// the read-modify-write of the map from racing with another writer of the same chunk.
    /// </summary>
    private ChunkStatus CommitWithMap(RocksDbWriteBatch batch, in ChunkKey key, int firstBlock, int blockCount, bool mapped)
    {
        int mapBytes = BlockBitmap.BytesFor(Geometry.BlocksPerChunk);
        byte[] map = ArrayPool<byte>.Shared.Rent(mapBytes);
        try
        {
            Span<byte> bits = map.AsSpan(0, mapBytes);
            ChunkStatus loaded = LoadMap(key, bits);
            if (loaded != ChunkStatus.Ok)
            {
                return loaded;
            }

            // Overwrites of mapped blocks, the steady state, leave the map alone and cost nothing extra.
            if (BlockBitmap.Assign(bits, firstBlock, blockCount, mapped))
            {
                Span<byte> prefix = stackalloc byte[RocksDbChunkKeys.ChunkPrefixBytes];
                RocksDbChunkKeys.WriteChunkPrefix(prefix, key);
                if (bits.IndexOfAnyExcept((byte)0) < 0)
                {
                    batch.Delete(maps, prefix);
                }
                else
                {
                    batch.Put(maps, prefix, bits);
                }
            }

            return StatusFor(database.Write(batch, writeOptions));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(map);
        }
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
