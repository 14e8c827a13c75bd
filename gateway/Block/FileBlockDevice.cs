using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Sds.Gateway.Block;

/// <summary>
/// A block device backed by one sparse file (tgt's <c>bs_rdwr</c>): positional I/O through
/// <see cref="RandomAccess"/>, <c>fdatasync</c> for SYNCHRONIZE CACHE and FUA, hole punching with
/// <c>fallocate(PUNCH_HOLE|KEEP_SIZE)</c> for UNMAP, and <c>lseek(SEEK_DATA/SEEK_HOLE)</c> for
/// provisioning status. OS errors are caught here, once, and become <see cref="BlockResult"/>
/// values (STYLE "OS I/O errors are caught once at the IBlockDevice edge").
/// </summary>
/// <remarks>
/// I/O runs synchronously on the calling thread: against the page cache a 4 KiB pread/pwrite costs
/// a few microseconds and allocates nothing, so the iSCSI read loop runs small READ/WRITE commands
/// inline and sends larger ones and data-less ones (SYNCHRONIZE CACHE) to the thread pool. A reader-writer gate lets reads and writes run in parallel while COMPARE AND
/// WRITE and WRITE ATOMIC hold it exclusively, so they are atomic against every other command.
/// </remarks>
internal sealed class FileBlockDevice : IBlockDevice
{
    /// <summary>Hole punching works in file-system blocks; assume the common 4 KiB.</summary>
    public const int FileSystemBlockBytes = 4096;

    private const int CompareChunkBytes = 64 * 1024;

    private readonly SafeFileHandle _handle;
    private readonly AtomicWriteJournal _journal;
    // Shared: READ, WRITE, WRITE SAME, UNMAP (they may run in parallel on the page cache).
    // Exclusive: COMPARE AND WRITE, WRITE ATOMIC, resize, so each is atomic against every other command.
    private readonly ReaderWriterLockSlim _gate = new(LockRecursionPolicy.NoRecursion);
    private long _sizeBytes;
    private bool _punchHoleSupported = true;

    private FileBlockDevice(SafeFileHandle handle, AtomicWriteJournal journal, long sizeBytes, int blockSizeBytes)
    {
        _handle = handle;
        _journal = journal;
        _sizeBytes = sizeBytes;
        BlockSizeBytes = blockSizeBytes;
    }

    /// <summary>
    /// Opens (creating when missing) the backing file. A new file is sized sparsely to
    /// <paramref name="sizeBytes"/>; an existing file keeps its data and is grown, never shrunk.
    /// </summary>
    public static FileBlockDevice Open(string path, long sizeBytes, int blockSizeBytes = 512)
    {
        Invariant.Assert(blockSizeBytes is 512 or 4096, "block size is 512 or 4096");
        Invariant.Assert(sizeBytes >= 0 && sizeBytes % blockSizeBytes == 0, "size is whole blocks");
        SafeFileHandle handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        long length = RandomAccess.GetLength(handle);
        if (length < sizeBytes)
        {
            RandomAccess.SetLength(handle, sizeBytes);
            length = sizeBytes;
        }
        var device = new FileBlockDevice(handle, AtomicWriteJournal.Open(path + ".atomic"), length - length % blockSizeBytes, blockSizeBytes);
        device.ReplayAtomicWrite();
        return device;
    }

    // A crash between journaling and clearing an atomic write: finish it before serving anything.
    private void ReplayAtomicWrite()
    {
        if (!_journal.TryReadPending(out long offsetBytes, out byte[] data)) return;
        if (InRange(offsetBytes, data.Length) && WriteCore(offsetBytes, data) == BlockResult.Ok && Sync() == BlockResult.Ok)
            _journal.Clear();
    }

    /// <inheritdoc />
    public long SizeBytes => Volatile.Read(ref _sizeBytes);

    /// <inheritdoc />
    public int BlockSizeBytes { get; }

    /// <inheritdoc />
    public int ProvisioningGranularityBytes => Math.Max(FileSystemBlockBytes, BlockSizeBytes);

    /// <inheritdoc />
    public bool SupportsUnmap => _punchHoleSupported;

    /// <summary>Atomic writes go through the <see cref="AtomicWriteJournal"/>; up to 8 MiB each.</summary>
    public int AtomicWriteBytesMax => 8 * 1024 * 1024;

    /// <summary>
    /// Journal, sync, write in place, sync, clear: three fdatasyncs, which is why only WRITE ATOMIC
    /// pays for it and plain WRITE does not.
    /// </summary>
    public ValueTask<BlockResult> WriteAtomicAsync(long offsetBytes, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken)
    {
        if (!InRange(offsetBytes, data.Length)) return new(BlockResult.OutOfRange);
        Invariant.Assert(data.Length <= AtomicWriteBytesMax, "atomic write within the advertised limit");
        _gate.EnterWriteLock();
        try
        {
            BlockResult result = _journal.Record(offsetBytes, data.Span);
            if (result == BlockResult.Ok) result = WriteCore(offsetBytes, data.Span);
            if (result == BlockResult.Ok) result = Sync();
            // On failure the record stays: the next open completes the write (all), never tears it.
            if (result == BlockResult.Ok) result = _journal.Clear();
            return new(result);
        }
        finally
        {
            _gate.ExitWriteLock();
        }
    }

    /// <inheritdoc />
    public ValueTask<BlockResult> ReadAsync(long offsetBytes, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!InRange(offsetBytes, buffer.Length)) return new(BlockResult.OutOfRange);
        _gate.EnterReadLock();
        try
        {
            return new(ReadCore(offsetBytes, buffer.Span));
        }
        finally
        {
            _gate.ExitReadLock();
        }
    }

    /// <inheritdoc />
    public ValueTask<BlockResult> WriteAsync(long offsetBytes, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken)
    {
        if (!InRange(offsetBytes, data.Length)) return new(BlockResult.OutOfRange);
        BlockResult result;
        _gate.EnterReadLock();
        try
        {
            result = WriteCore(offsetBytes, data.Span);
        }
        finally
        {
            _gate.ExitReadLock();
        }
        if (result == BlockResult.Ok && forceUnitAccess) result = Sync();
        return new(result);
    }

    /// <inheritdoc />
    public ValueTask<BlockResult> FlushAsync(CancellationToken cancellationToken) => new(Sync());

    /// <inheritdoc />
    public ValueTask<BlockResult> UnmapAsync(long offsetBytes, long lengthBytes, CancellationToken cancellationToken)
    {
        if (!InRange(offsetBytes, lengthBytes)) return new(BlockResult.OutOfRange);
        if (lengthBytes == 0) return new(BlockResult.Ok);
        _gate.EnterReadLock();
        try
        {
            return new(UnmapCore(offsetBytes, lengthBytes));
        }
        finally
        {
            _gate.ExitReadLock();
        }
    }

    /// <inheritdoc />
    public ValueTask<BlockResult> WriteSameAsync(long offsetBytes, long lengthBytes, ReadOnlyMemory<byte> pattern, bool deallocate, CancellationToken cancellationToken)
    {
        Invariant.Assert(pattern.Length == BlockSizeBytes, "WRITE SAME pattern is one block");
        if (!InRange(offsetBytes, lengthBytes)) return new(BlockResult.OutOfRange);
        ReadOnlySpan<byte> block = pattern.Span;
        _gate.EnterReadLock();
        try
        {
            if (deallocate && !block.ContainsAnyExcept((byte)0)) return new(UnmapCore(offsetBytes, lengthBytes));
            // One pattern-filled staging buffer per call (WRITE SAME is not on the READ/WRITE hot path).
            int stagingBytes = (int)Math.Min(lengthBytes, 256 * 1024);
            byte[] staging = System.Buffers.ArrayPool<byte>.Shared.Rent(stagingBytes);
            try
            {
                for (int at = 0; at < stagingBytes; at += block.Length) block.CopyTo(staging.AsSpan(at));
                for (long done = 0; done < lengthBytes;)
                {
                    int count = (int)Math.Min(stagingBytes, lengthBytes - done);
                    BlockResult result = WriteCore(offsetBytes + done, staging.AsSpan(0, count));
                    if (result != BlockResult.Ok) return new(result);
                    done += count;
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(staging);
            }
        }
        finally
        {
            _gate.ExitReadLock();
        }
        return new(BlockResult.Ok);
    }

    /// <inheritdoc />
    public ValueTask<CompareAndWriteResult> CompareAndWriteAsync(long offsetBytes, ReadOnlyMemory<byte> expected, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken)
    {
        Invariant.Assert(expected.Length == data.Length, "compare and write buffers have one length");
        if (!InRange(offsetBytes, data.Length)) return new(new CompareAndWriteResult(BlockResult.OutOfRange, 0));
        byte[] current = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Min(expected.Length, CompareChunkBytes));
        _gate.EnterWriteLock();
        try
        {
            {
                for (int done = 0; done < expected.Length;)
                {
                    int count = Math.Min(CompareChunkBytes, expected.Length - done);
                    BlockResult read = ReadCore(offsetBytes + done, current.AsSpan(0, count));
                    if (read != BlockResult.Ok) return new(new CompareAndWriteResult(read, 0));
                    int same = expected.Span.Slice(done, count).CommonPrefixLength(current.AsSpan(0, count));
                    if (same < count) return new(new CompareAndWriteResult(BlockResult.Miscompare, done + same));
                    done += count;
                }
                BlockResult written = WriteCore(offsetBytes, data.Span);
                if (written == BlockResult.Ok && forceUnitAccess) written = Sync();
                return new(new CompareAndWriteResult(written, 0));
            }
        }
        finally
        {
            _gate.ExitWriteLock();
            System.Buffers.ArrayPool<byte>.Shared.Return(current);
        }
    }

    /// <inheritdoc />
    public ValueTask<ProvisioningStatus> GetProvisioningStatusAsync(long offsetBytes, long lengthBytes, CancellationToken cancellationToken)
    {
        if (!InRange(offsetBytes, lengthBytes) || lengthBytes == 0) return new(new ProvisioningStatus(BlockResult.OutOfRange, false, 0));
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            int fd = (int)_handle.DangerousGetHandle();
            long end = offsetBytes + lengthBytes;
            long data = LibC.LSeek(fd, offsetBytes, LibC.SeekData);
            if (data < 0)
            {
                // ENXIO: no data at or after the offset, so the rest of the file is one hole.
                return new(Marshal.GetLastPInvokeError() == LibC.Enxio
                    ? new ProvisioningStatus(BlockResult.Ok, false, lengthBytes)
                    : new ProvisioningStatus(BlockResult.MediumError, false, 0));
            }
            if (data > offsetBytes)
                return new(new ProvisioningStatus(BlockResult.Ok, false, Math.Min(data, end) - offsetBytes));
            long hole = LibC.LSeek(fd, offsetBytes, LibC.SeekHole);
            if (hole < 0) return new(new ProvisioningStatus(BlockResult.MediumError, false, 0));
            return new(new ProvisioningStatus(BlockResult.Ok, true, Math.Min(Math.Max(hole, offsetBytes + BlockSizeBytes), end) - offsetBytes));
        }
        catch (ObjectDisposedException)
        {
            return new(new ProvisioningStatus(BlockResult.HardwareError, false, 0));
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    /// <inheritdoc />
    public ValueTask<BlockResult> ResizeAsync(long sizeBytes, CancellationToken cancellationToken)
    {
        if (sizeBytes < 0 || sizeBytes % BlockSizeBytes != 0) return new(BlockResult.OutOfRange);
        _gate.EnterWriteLock();
        try
        {
            RandomAccess.SetLength(_handle, sizeBytes);
            Volatile.Write(ref _sizeBytes, sizeBytes);
        }
        catch (IOException exception)
        {
            return new(MapIOException(exception));
        }
        catch (ObjectDisposedException)
        {
            return new(BlockResult.HardwareError);
        }
        finally
        {
            _gate.ExitWriteLock();
        }
        return new(BlockResult.Ok);
    }

    /// <summary>Closes the file and the journal.</summary>
    /// <remarks>
    /// The gate is deliberately not disposed: a command still in flight when the LU goes away gets
    /// HARDWARE ERROR from the closed handle instead of an exception from the lock.
    /// </remarks>
    public void Dispose()
    {
        _journal.Dispose();
        _handle.Dispose();
    }

    private bool InRange(long offsetBytes, long lengthBytes)
    {
        long size = SizeBytes;
        return offsetBytes >= 0 && lengthBytes >= 0 && offsetBytes <= size && lengthBytes <= size - offsetBytes;
    }

    private BlockResult ReadCore(long offsetBytes, Span<byte> destination)
    {
        try
        {
            while (!destination.IsEmpty)
            {
                int read = RandomAccess.Read(_handle, destination, offsetBytes);
                if (read == 0)
                {
                    // Past the end of a file that was shrunk underneath us: reads as deallocated.
                    destination.Clear();
                    break;
                }
                destination = destination[read..];
                offsetBytes += read;
            }
            return BlockResult.Ok;
        }
        catch (IOException exception)
        {
            return MapIOException(exception);
        }
        catch (ObjectDisposedException)
        {
            return BlockResult.HardwareError;
        }
    }

    private BlockResult WriteCore(long offsetBytes, ReadOnlySpan<byte> source)
    {
        try
        {
            RandomAccess.Write(_handle, source, offsetBytes);
            return BlockResult.Ok;
        }
        catch (IOException exception)
        {
            return MapIOException(exception);
        }
        catch (ObjectDisposedException)
        {
            return BlockResult.HardwareError;
        }
    }

    private BlockResult UnmapCore(long offsetBytes, long lengthBytes)
    {
        if (_punchHoleSupported)
        {
            bool added = false;
            try
            {
                _handle.DangerousAddRef(ref added);
                int fd = (int)_handle.DangerousGetHandle();
                int status;
                do status = LibC.FAllocate(fd, LibC.FallocFlPunchHole | LibC.FallocFlKeepSize, offsetBytes, lengthBytes);
                while (status < 0 && Marshal.GetLastPInvokeError() == LibC.Eintr);
                if (status == 0) return BlockResult.Ok;
                int errno = Marshal.GetLastPInvokeError();
                if (errno != LibC.Eopnotsupp) return MapErrno(errno);
                _punchHoleSupported = false;
            }
            catch (ObjectDisposedException)
            {
                return BlockResult.HardwareError;
            }
            finally
            {
                if (added) _handle.DangerousRelease();
            }
        }
        // No hole punching on this file system: zero the range so it still reads back as zeros.
        byte[] zeros = System.Buffers.ArrayPool<byte>.Shared.Rent((int)Math.Min(lengthBytes, 256 * 1024));
        try
        {
            Array.Clear(zeros);
            for (long done = 0; done < lengthBytes;)
            {
                int count = (int)Math.Min(zeros.Length, lengthBytes - done);
                BlockResult result = WriteCore(offsetBytes + done, zeros.AsSpan(0, count));
                if (result != BlockResult.Ok) return result;
                done += count;
            }
            return BlockResult.Ok;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(zeros);
        }
    }

    private BlockResult Sync()
    {
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            int status;
            do status = LibC.FDataSync((int)_handle.DangerousGetHandle());
            while (status < 0 && Marshal.GetLastPInvokeError() == LibC.Eintr);
            return status == 0 ? BlockResult.Ok : MapErrno(Marshal.GetLastPInvokeError());
        }
        catch (ObjectDisposedException)
        {
            return BlockResult.HardwareError;
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    // On Unix, .NET puts the raw errno in IOException.HResult.
    private static BlockResult MapIOException(IOException exception) => MapErrno(exception.HResult);

    private static BlockResult MapErrno(int errno) => errno switch
    {
        LibC.Enospc or LibC.Edquot => BlockResult.NoSpace,
        _ => BlockResult.MediumError,
    };
}
