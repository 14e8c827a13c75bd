using Sds.Storage.Native;

namespace Sds.Storage.Chunks;

/// <summary>
/// Refuses writes before the file system under a store runs out, keeping a reserve free.
/// RocksDB needs this: Debian's librocksdb7.8 is built with assertions, and a WAL append that hits
/// ENOSPC aborts the whole process (writable_file_writer.h "sync_without_flush_called_"), so the
/// RocksDB store must return <see cref="ChunkStatus.NoSpace"/> before RocksDB ever sees ENOSPC.
/// statvfs runs once per budget, not per write: after each check, writes may consume half of the
/// headroom above the reserve before the next check, which bounds the cost to O(log) checks as
/// space runs low and keeps the reserve intact even with several writers racing.
/// </summary>
internal sealed class FreeSpaceGuard
{
    private readonly string path;
    private readonly long reserveBytes;
    private long budgetBytes;

    /// <summary>Guards the file system holding <paramref name="path"/>, keeping <paramref name="reserveBytes"/> free.</summary>
    public FreeSpaceGuard(string path, long reserveBytes)
    {
        Invariant.Assert(reserveBytes >= 0, "reserve is not negative");
        this.path = path;
        this.reserveBytes = reserveBytes;
    }

    /// <summary>
    /// Admits a write that will consume about <paramref name="bytes"/> of the file system, or says
    /// <see cref="ChunkStatus.NoSpace"/> (or <see cref="ChunkStatus.IoError"/> when statvfs fails).
    /// </summary>
    public ChunkStatus Admit(long bytes)
    {
        Invariant.Assert(bytes >= 0, "a write consumes space");
        if (Interlocked.Add(ref budgetBytes, -bytes) >= 0)
        {
            return ChunkStatus.Ok;
        }

        long available = LinuxFile.AvailableBytes(path, out int errno);
        if (available < 0)
        {
            Volatile.Write(ref budgetBytes, 0);
            return errno == LinuxFile.ErrnoNoSpace ? ChunkStatus.NoSpace : ChunkStatus.IoError;
        }

        long headroom = available - reserveBytes;
        if (headroom < bytes)
        {
            Volatile.Write(ref budgetBytes, 0);
            return ChunkStatus.NoSpace;
        }

        Volatile.Write(ref budgetBytes, (headroom - bytes) / 2);
        return ChunkStatus.Ok;
    }
}
