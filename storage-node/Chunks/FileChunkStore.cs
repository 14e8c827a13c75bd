using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Sds.Storage.Native;

namespace Sds.Storage.Chunks;

/// <summary>
/// Chunks as sparse files: <c>DATA/&lt;volume&gt;/&lt;index:x16&gt;.chunk</c> holds the chunk's bytes
/// at their offsets (positional I/O), and <c>.crc</c> beside it holds 4 bytes per block. UNMAP
/// punches holes; GET LBA STATUS asks the file system for allocated extents (SEEK_DATA/SEEK_HOLE);
/// flush is fdatasync. The side file stores CRC32C(block) XOR CRC32C(zero block), so an entry that
/// is zero (a hole) describes a zero block: unmapped ranges verify without being written.
/// Space for a write is reserved with fallocate before any byte changes, so ENOSPC leaves the chunk
/// exactly as it was and the caller gets <see cref="ChunkStatus.NoSpace"/>.
/// </summary>
internal sealed class FileChunkStore : ChunkStore
{
    /// <summary>Open chunks kept by default (two descriptors each).</summary>
    public const int OpenChunksMaxDefault = 1024;

    private const string DataSuffix = ".chunk";
    private const string ChecksumSuffix = ".crc";
    private const string GeometryFileName = "GEOMETRY";
    private const string LockFileName = "LOCK";

    /// <summary>Bytes of pattern written per call by WRITE SAME and by zero-filling fallbacks.</summary>
    private const int StagingBytesMax = 256 * 1024;

    private readonly string dataDirectory;
    private readonly FileChunkHandleCache cache;
    private readonly SafeFileHandle lockFile;
    private readonly FileSyncWorkers syncWorkers;
    private readonly byte[] zeros;

    // Guarded by itself: one flush at a time reuses the list instead of allocating per flush.
    private readonly List<FileChunkFiles> flushList = new();

    private FileChunkStore(string dataDirectory, ChunkGeometry geometry, int openChunksMax, SafeFileHandle lockFile)
        : base(geometry)
    {
        this.dataDirectory = dataDirectory;
        this.lockFile = lockFile;
        cache = new FileChunkHandleCache(openChunksMax);
        syncWorkers = new FileSyncWorkers(SyncChunk);
        zeros = new byte[Math.Max(StagingBytesMax, geometry.BlocksPerChunk * sizeof(uint))];
    }

    /// <summary>
    /// Opens (creating if needed) a store in <paramref name="dataDirectory"/>. The directory is locked
    /// for this store (flock on LOCK) and remembers its geometry; a second open of the same
    /// directory, or an open with another geometry, returns <see cref="ChunkStatus.Unavailable"/>.
    /// </summary>
    public static ChunkStatus Open(
        string dataDirectory, ChunkGeometry geometry, out FileChunkStore? store, int openChunksMax = OpenChunksMaxDefault)
    {
        store = null;
        SafeFileHandle? lockFile = null;
        try
        {
            Directory.CreateDirectory(dataDirectory);
            lockFile = File.OpenHandle(Path.Combine(dataDirectory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException exception) when (exception.HResult == LinuxFile.ErrnoWouldBlock)
        {
            // flock(LOCK_EX|LOCK_NB) on LOCK failed: another store (in this process or another) owns the directory.
            return ChunkStatus.Unavailable;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return ChunkStatus.IoError;
        }

        ChunkStatus checkedGeometry = CheckGeometry(dataDirectory, geometry);
        if (checkedGeometry != ChunkStatus.Ok)
        {
            lockFile.Dispose();
            return checkedGeometry;
        }

        store = new FileChunkStore(dataDirectory, geometry, openChunksMax, lockFile);
        return ChunkStatus.Ok;
    }

    /// <summary>The data file of a chunk, for tests and tools that inspect the layout.</summary>
    internal string DataPath(in ChunkKey key) => Path.Combine(VolumeDirectory(key.VolumeId), FileStem(key) + DataSuffix);

    /// <inheritdoc />
    protected override ChunkStatus ReadBlocks(in ChunkKey key, long offsetBytes, Span<byte> destination, Span<uint> checksums)
    {
        FileChunkFiles files = cache.Acquire(key);
        try
        {
            ChunkStatus opened = EnsureOpen(files, create: false);
            if (opened != ChunkStatus.Ok)
            {
                return opened;
            }

            if (files.Data is null)
            {
                destination.Clear();
                checksums.Fill(ZeroBlockChecksum);
                return ChunkStatus.Ok;
            }

            ReadFully(files.Data, destination, offsetBytes);
            Span<byte> stored = System.Runtime.InteropServices.MemoryMarshal.AsBytes(checksums);
            ReadFully(files.Checksums!, stored, ChecksumOffset(offsetBytes));
            for (int i = 0; i < checksums.Length; i++)
            {
                uint entry = BitConverter.IsLittleEndian ? checksums[i] : BinaryPrimitives.ReverseEndianness(checksums[i]);
                checksums[i] = entry ^ ZeroBlockChecksum;
            }

            return ChunkStatus.Ok;
        }
        finally
        {
            cache.Release(files);
        }
    }

    /// <inheritdoc />
    protected override ChunkStatus WriteBlocks(in ChunkKey key, long offsetBytes, ReadOnlySpan<byte> source, ReadOnlySpan<uint> checksums)
    {
        byte[] entries = ArrayPool<byte>.Shared.Rent(checksums.Length * sizeof(uint));
        FileChunkFiles files = cache.Acquire(key);
        try
        {
            ChunkStatus ready = PrepareWrite(files, offsetBytes, source.Length);
            if (ready != ChunkStatus.Ok)
            {
                return ready;
            }

            for (int i = 0; i < checksums.Length; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(entries.AsSpan(i * sizeof(uint)), checksums[i] ^ ZeroBlockChecksum);
            }

            // Data before checksums: a crash between the two shows as a checksum mismatch that the
            // replicas repair, never as wrong data that verifies.
            RandomAccess.Write(files.Data!, source, offsetBytes);
            RandomAccess.Write(files.Checksums!, entries.AsSpan(0, checksums.Length * sizeof(uint)), ChecksumOffset(offsetBytes));
            files.MarkDirty();
            return ChunkStatus.Ok;
        }
        finally
        {
            cache.Release(files);
            ArrayPool<byte>.Shared.Return(entries);
        }
    }

    /// <inheritdoc />
    protected override ChunkStatus WriteSameBlocks(in ChunkKey key, long offsetBytes, int lengthBytes, ReadOnlySpan<byte> block, uint checksum)
    {
        int blockSize = Geometry.BlockSizeBytes;
        int stagingBytes = Math.Min(lengthBytes, StagingBytesMax);
        byte[] staging = ArrayPool<byte>.Shared.Rent(stagingBytes);
        byte[] entries = ArrayPool<byte>.Shared.Rent(lengthBytes / blockSize * sizeof(uint));
        FileChunkFiles files = cache.Acquire(key);
        try
        {
            ChunkStatus ready = PrepareWrite(files, offsetBytes, lengthBytes);
            if (ready != ChunkStatus.Ok)
            {
                return ready;
            }

            for (int offset = 0; offset < stagingBytes; offset += blockSize)
            {
                block.CopyTo(staging.AsSpan(offset, blockSize));
            }

            for (int written = 0; written < lengthBytes; written += stagingBytes)
            {
                int pieceBytes = Math.Min(stagingBytes, lengthBytes - written);
                RandomAccess.Write(files.Data!, staging.AsSpan(0, pieceBytes), offsetBytes + written);
            }

            int entryBytes = lengthBytes / blockSize * sizeof(uint);
            for (int i = 0; i < entryBytes; i += sizeof(uint))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(entries.AsSpan(i), checksum ^ ZeroBlockChecksum);
            }

            RandomAccess.Write(files.Checksums!, entries.AsSpan(0, entryBytes), ChecksumOffset(offsetBytes));
            files.MarkDirty();
            return ChunkStatus.Ok;
        }
        finally
        {
            cache.Release(files);
            ArrayPool<byte>.Shared.Return(staging);
            ArrayPool<byte>.Shared.Return(entries);
        }
    }

    /// <inheritdoc />
    protected override ChunkStatus UnmapBlocks(in ChunkKey key, long offsetBytes, int lengthBytes)
    {
        FileChunkFiles files = cache.Acquire(key);
        try
        {
            ChunkStatus opened = EnsureOpen(files, create: false);
            if (opened != ChunkStatus.Ok || files.Data is null)
            {
                return opened;
            }

            // Cleared first: whatever happens below, the next write here reserves again.
            BlockBitmap.Assign(files.Allocated!, (int)(offsetBytes / Geometry.BlockSizeBytes), lengthBytes / Geometry.BlockSizeBytes, value: false);
            int errno = LinuxFile.PunchHole(files.Data, offsetBytes, lengthBytes);
            if (errno == LinuxFile.ErrnoNotSupported)
            {
                // A file system without hole punching still reads zeros after UNMAP; it just keeps the space.
                for (int written = 0; written < lengthBytes; written += StagingBytesMax)
                {
                    int pieceBytes = Math.Min(StagingBytesMax, lengthBytes - written);
                    RandomAccess.Write(files.Data, zeros.AsSpan(0, pieceBytes), offsetBytes + written);
                }
            }
            else if (errno != 0)
            {
                return StatusForErrno(errno);
            }

            // Zero entries describe zero blocks; the side file stays allocated, so this cannot hit ENOSPC.
            int entryBytes = lengthBytes / Geometry.BlockSizeBytes * sizeof(uint);
            RandomAccess.Write(files.Checksums!, zeros.AsSpan(0, entryBytes), ChecksumOffset(offsetBytes));
            files.MarkDirty();
            return ChunkStatus.Ok;
        }
        finally
        {
            cache.Release(files);
        }
    }

    /// <inheritdoc />
    protected override ChunkStatus MappedExtents(
        in ChunkKey key, long offsetBytes, int lengthBytes, Span<ChunkExtent> extents, out int extentCount)
    {
        extentCount = 0;
        FileChunkFiles files = cache.Acquire(key);
        try
        {
            ChunkStatus opened = EnsureOpen(files, create: false);
            if (opened != ChunkStatus.Ok || files.Data is null)
            {
                return opened;
            }

            long blockSize = Geometry.BlockSizeBytes;
            long end = offsetBytes + lengthBytes;
            long position = offsetBytes;
            // Each round either ends the walk or advances past one hole, and a chunk has at most
            // one data run per block, so the loop is bounded by the block count.
            for (int round = 0; round <= Geometry.BlocksPerChunk && position < end && extentCount < extents.Length; round++)
            {
                long dataStart = LinuxFile.SeekToData(files.Data, position, out int errno);
                if (dataStart < 0)
                {
                    return errno == LinuxFile.ErrnoNoSuchDeviceOrAddress ? ChunkStatus.Ok : StatusForErrno(errno);
                }

                if (dataStart >= end)
                {
                    break;
                }

                long holeStart = LinuxFile.SeekToHole(files.Data, dataStart, out errno);
                if (holeStart < 0)
                {
                    return StatusForErrno(errno);
                }

                // File-system extents are at least block aligned; round outward to whole blocks anyway.
                long start = Math.Max(dataStart, offsetBytes) / blockSize * blockSize;
                long stop = Math.Min((holeStart + blockSize - 1) / blockSize * blockSize, end);
                extents[extentCount++] = new ChunkExtent(start, stop - start);
                position = stop;
            }

            return ChunkStatus.Ok;
        }
        finally
        {
            cache.Release(files);
        }
    }

    /// <inheritdoc />
    protected override ChunkStatus FlushAll()
    {
        lock (flushList)
        {
            flushList.Clear();
            cache.CollectDirty(flushList);
            int firstErrno = cache.TakeDeferredSyncError();
            int syncErrno = syncWorkers.SyncAll(flushList);
            firstErrno = firstErrno != 0 ? firstErrno : syncErrno;
            foreach (FileChunkFiles files in flushList)
            {
                cache.Release(files);
            }

            flushList.Clear();
            return firstErrno == 0 ? ChunkStatus.Ok : StatusForErrno(firstErrno);
        }
    }

    /// <summary>Syncs one chunk's two files; runs on a <see cref="FileSyncWorkers"/> thread.</summary>
    private int SyncChunk(FileChunkFiles files)
    {
        // Under the chunk's lock so a concurrent delete cannot close the files mid-sync.
        lock (Stripe(files.Key))
        {
            if (!files.TakeDirty() || files.Data is null || files.Checksums is null)
            {
                return 0;
            }

            int errno = LinuxFile.DataSync(files.Data);
            return errno != 0 ? errno : LinuxFile.DataSync(files.Checksums);
        }
    }

    /// <inheritdoc />
    protected override ChunkStatus DeleteChunkBlocks(in ChunkKey key)
    {
        FileChunkFiles files = cache.Acquire(key);
        try
        {
            files.Close();
            files.TakeDirty();
            string dataPath = DataPath(key);
            if (!Directory.Exists(VolumeDirectory(key.VolumeId)))
            {
                // File.Delete throws DirectoryNotFoundException for a volume never written here; absent is Ok.
                files.KnownAbsent = true;
                return ChunkStatus.Ok;
            }

            File.Delete(dataPath);
            File.Delete(Path.ChangeExtension(dataPath, ChecksumSuffix));
            files.KnownAbsent = true;
            // A deleted chunk must not come back after a crash and be listed as a live replica.
            int errno = Directory.Exists(VolumeDirectory(key.VolumeId)) ? LinuxFile.SyncDirectory(VolumeDirectory(key.VolumeId)) : 0;
            return errno == 0 ? ChunkStatus.Ok : StatusForErrno(errno);
        }
        finally
        {
            cache.Release(files);
        }
    }

    /// <inheritdoc />
    protected override ChunkStatus ListChunkKeys(Guid? volumeId, List<ChunkKey> chunks)
    {
        foreach (string volumeDirectory in Directory.EnumerateDirectories(dataDirectory))
        {
            if (!Guid.TryParseExact(Path.GetFileName(volumeDirectory), "N", out Guid volume)
                || (volumeId is not null && volume != volumeId.Value))
            {
                continue;
            }

            foreach (string file in Directory.EnumerateFiles(volumeDirectory, "*" + DataSuffix))
            {
                string stem = Path.GetFileNameWithoutExtension(file);
                if (ulong.TryParse(stem, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong index))
                {
                    chunks.Add(new ChunkKey(volume, index));
                }
            }
        }

        return ChunkStatus.Ok;
    }

    /// <inheritdoc />
    protected override void Close()
    {
        syncWorkers.Dispose();
        cache.Dispose();
        lockFile.Dispose();
    }

    /// <inheritdoc />
    protected override ChunkStatus MapOperatingError(Exception exception)
        => exception is IOException { HResult: LinuxFile.ErrnoNoSpace } ? ChunkStatus.NoSpace : ChunkStatus.IoError;

    private static ChunkStatus StatusForErrno(int errno)
        => errno == LinuxFile.ErrnoNoSpace ? ChunkStatus.NoSpace : ChunkStatus.IoError;

    private static ChunkStatus CheckGeometry(string dataDirectory, ChunkGeometry geometry)
    {
        string path = Path.Combine(dataDirectory, GeometryFileName);
        string expected = string.Create(
            CultureInfo.InvariantCulture, $"chunk_size_bytes={geometry.ChunkSizeBytes} block_size_bytes={geometry.BlockSizeBytes}\n");
        try
        {
            if (!File.Exists(path))
            {
                // Written once, before any chunk exists, then made durable with its directory entry.
                File.WriteAllText(path, expected);
                using (SafeFileHandle written = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
                {
                    int errno = LinuxFile.DataSync(written);
                    if (errno != 0)
                    {
                        return StatusForErrno(errno);
                    }
                }

                return LinuxFile.SyncDirectory(dataDirectory) == 0 ? ChunkStatus.Ok : ChunkStatus.IoError;
            }

            return File.ReadAllText(path) == expected ? ChunkStatus.Ok : ChunkStatus.Unavailable;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return exception is IOException { HResult: LinuxFile.ErrnoNoSpace } ? ChunkStatus.NoSpace : ChunkStatus.IoError;
        }
    }

    private static string FileStem(in ChunkKey key) => key.ChunkIndex.ToString("x16", CultureInfo.InvariantCulture);

    private static void ReadFully(SafeFileHandle file, Span<byte> destination, long offsetBytes)
    {
        // A short read means the file ends early (a crash between create and extend): the rest is a hole.
        int total = 0;
        while (total < destination.Length)
        {
            int read = RandomAccess.Read(file, destination[total..], offsetBytes + total);
            if (read == 0)
            {
                destination[total..].Clear();
                return;
            }

            total += read;
        }
    }

    private string VolumeDirectory(Guid volumeId) => Path.Combine(dataDirectory, volumeId.ToString("N"));

    private long ChecksumOffset(long offsetBytes) => offsetBytes / Geometry.BlockSizeBytes * sizeof(uint);

    /// <summary>Opens the chunk's files for a write and reserves the range, so the write itself cannot run out of space.</summary>
    private ChunkStatus PrepareWrite(FileChunkFiles files, long offsetBytes, int lengthBytes)
    {
        ChunkStatus opened = EnsureOpen(files, create: true);
        if (opened != ChunkStatus.Ok)
        {
            return opened;
        }

        // Only ranges not known to be allocated are reserved: an overwrite, the steady state,
        // then costs no fallocate call and does not touch the inode. (The large flush-rate gain
        // measured here came from parallel fdatasync, not from this; it is a per-write saving.)
        int firstBlock = (int)(offsetBytes / Geometry.BlockSizeBytes);
        int blockCount = lengthBytes / Geometry.BlockSizeBytes;
        if (BlockBitmap.AllSet(files.Allocated!, firstBlock, blockCount))
        {
            return ChunkStatus.Ok;
        }

        int errno = LinuxFile.Reserve(files.Data!, offsetBytes, lengthBytes);
        if (errno == 0)
        {
            BlockBitmap.Assign(files.Allocated!, firstBlock, blockCount, value: true);
        }

        // Without fallocate support the write goes ahead unreserved; ENOSPC then surfaces from
        // pwrite, possibly after part of the range changed (the blocks then fail verification).
        return errno == 0 || errno == LinuxFile.ErrnoNotSupported ? ChunkStatus.Ok : StatusForErrno(errno);
    }

    /// <summary>Builds the allocation bitmap of a freshly opened data file from its extents.</summary>
    private ChunkStatus LoadAllocation(FileChunkFiles files)
    {
        int blockSize = Geometry.BlockSizeBytes;
        files.Allocated = new byte[BlockBitmap.BytesFor(Geometry.BlocksPerChunk)];
        long position = 0;
        // Each round moves past one data run and one hole, at most one run per block.
        for (int round = 0; round <= Geometry.BlocksPerChunk && position < Geometry.ChunkSizeBytes; round++)
        {
            long dataStart = LinuxFile.SeekToData(files.Data!, position, out int errno);
            if (dataStart < 0)
            {
                return errno == LinuxFile.ErrnoNoSuchDeviceOrAddress ? ChunkStatus.Ok : StatusForErrno(errno);
            }

            long holeStart = Math.Min(LinuxFile.SeekToHole(files.Data!, dataStart, out errno), Geometry.ChunkSizeBytes);
            if (holeStart < 0)
            {
                return StatusForErrno(errno);
            }

            // Only whole blocks inside the run count as allocated.
            int firstBlock = (int)((dataStart + blockSize - 1) / blockSize);
            int endBlock = (int)(holeStart / blockSize);
            if (endBlock > firstBlock)
            {
                BlockBitmap.Assign(files.Allocated!, firstBlock, endBlock - firstBlock, value: true);
            }

            position = holeStart;
        }

        return ChunkStatus.Ok;
    }

    /// <summary>
    /// Opens the chunk's files if they are not open. Without <paramref name="create"/> a missing
    /// chunk leaves <see cref="FileChunkFiles.Data"/> null (it reads as zeros). Called under the chunk's lock.
    /// </summary>
    private ChunkStatus EnsureOpen(FileChunkFiles files, bool create)
    {
        if (files.Data is not null || (!create && files.KnownAbsent))
        {
            return ChunkStatus.Ok;
        }

        string dataPath = DataPath(files.Key);
        if (!create && !File.Exists(dataPath))
        {
            files.KnownAbsent = true;
            return ChunkStatus.Ok;
        }

        string volumeDirectory = VolumeDirectory(files.Key.VolumeId);
        bool newVolume = !Directory.Exists(volumeDirectory);
        if (newVolume)
        {
            Directory.CreateDirectory(volumeDirectory);
        }

        bool newChunk = !File.Exists(dataPath);
        long checksumBytes = (long)Geometry.BlocksPerChunk * sizeof(uint);
        SafeFileHandle checksumFile = File.OpenHandle(Path.ChangeExtension(dataPath, ChecksumSuffix), FileMode.OpenOrCreate, FileAccess.ReadWrite);
        if (RandomAccess.GetLength(checksumFile) < checksumBytes)
        {
            RandomAccess.SetLength(checksumFile, checksumBytes);
        }

        // The side file is small and fully allocated up front so checksum updates never hit ENOSPC.
        int errno = LinuxFile.Reserve(checksumFile, 0, checksumBytes);
        if (errno != 0 && errno != LinuxFile.ErrnoNotSupported)
        {
            checksumFile.Dispose();
            return StatusForErrno(errno);
        }

        SafeFileHandle dataFile = File.OpenHandle(dataPath, FileMode.OpenOrCreate, FileAccess.ReadWrite);
        if (RandomAccess.GetLength(dataFile) < Geometry.ChunkSizeBytes)
        {
            RandomAccess.SetLength(dataFile, Geometry.ChunkSizeBytes);
        }

        files.Data = dataFile;
        files.Checksums = checksumFile;
        files.KnownAbsent = false;
        ChunkStatus loaded = LoadAllocation(files);
        if (loaded != ChunkStatus.Ok)
        {
            files.Close();
            return loaded;
        }

        if (newChunk)
        {
            // New directory entries become durable here, once per chunk, not on every flush.
            errno = LinuxFile.SyncDirectory(volumeDirectory);
            errno = errno == 0 && newVolume ? LinuxFile.SyncDirectory(dataDirectory) : errno;
            if (errno != 0)
            {
                return StatusForErrno(errno);
            }
        }

        return ChunkStatus.Ok;
    }
}
