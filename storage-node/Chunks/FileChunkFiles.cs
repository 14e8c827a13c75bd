using Microsoft.Win32.SafeHandles;

namespace Sds.Storage.Chunks;

/// <summary>
/// The open files of one chunk in <see cref="FileChunkStore"/>: the sparse data file and its
/// checksum side file. Handles are opened, replaced and closed only under the chunk's lock; the
/// reference count and last use are guarded by the <see cref="FileChunkHandleCache"/> lock.
/// </summary>
internal sealed class FileChunkFiles
{
    private int dirty;

    /// <summary>Creates an entry with nothing open yet.</summary>
    public FileChunkFiles(ChunkKey key)
    {
        Key = key;
    }

    /// <summary>The chunk.</summary>
    public ChunkKey Key { get; }

    /// <summary>The data file, or null when not open.</summary>
    public SafeFileHandle? Data { get; set; }

    /// <summary>The checksum side file (4 bytes per block), or null when not open.</summary>
    public SafeFileHandle? Checksums { get; set; }

    /// <summary>
    /// A <see cref="BlockBitmap"/>: set when the block is known to be allocated in the data file, so
    /// a write there needs no fallocate. Built from SEEK_DATA/SEEK_HOLE when the file opens, set
    /// after each reservation and cleared by UNMAP. A clear bit only means "reserve before writing".
    /// </summary>
    public byte[]? Allocated { get; set; }

    /// <summary>True when a lookup found no data file: reads answer zeros without touching the disk again.</summary>
    public bool KnownAbsent { get; set; }

    /// <summary>Operations (and flushes) holding this entry; it is evicted only at zero.</summary>
    public int References { get; set; }

    /// <summary>Cache clock value of the last acquisition, for least-recently-used eviction.</summary>
    public long LastUseTick { get; set; }

    /// <summary>Whether a write since the last flush may still be only in the page cache.</summary>
    public bool IsDirty => Volatile.Read(ref dirty) != 0;

    /// <summary>Records a completed write; set after the write so a concurrent flush cannot miss it.</summary>
    public void MarkDirty() => Volatile.Write(ref dirty, 1);

    /// <summary>Clears the dirty mark before syncing; a write racing with the sync marks it again.</summary>
    public bool TakeDirty() => Interlocked.Exchange(ref dirty, 0) != 0;

    /// <summary>Closes both files.</summary>
    public void Close()
    {
        Data?.Dispose();
        Checksums?.Dispose();
        Data = null;
        Checksums = null;
        Allocated = null;
    }
}
