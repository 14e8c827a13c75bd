using Sds.Storage.Native;

namespace Sds.Storage.Chunks;

/// <summary>
/// A bounded table of open chunk files, so the I/O path does not open and close two files per
/// request. Least-recently-used entries with no user are closed when the table is full (after an
/// fdatasync if they hold unflushed writes, whose failure the next flush reports).
/// </summary>
internal sealed class FileChunkHandleCache : IDisposable
{
    private readonly Dictionary<ChunkKey, FileChunkFiles> entries;
    private readonly int capacity;
    private long tick;
    private int deferredSyncErrno;

    /// <summary>Creates a cache holding up to <paramref name="capacity"/> chunks (two descriptors each).</summary>
    public FileChunkHandleCache(int capacity)
    {
        Invariant.Assert(capacity > 0, "cache capacity is positive");
        this.capacity = capacity;
        entries = new Dictionary<ChunkKey, FileChunkFiles>(capacity + 1);
    }

    /// <summary>Returns the chunk's entry with a reference held; pair with <see cref="Release"/>.</summary>
    public FileChunkFiles Acquire(in ChunkKey key)
    {
        lock (entries)
        {
            if (!entries.TryGetValue(key, out FileChunkFiles? files))
            {
                if (entries.Count >= capacity)
                {
                    EvictLeastRecentlyUsed();
                }

                files = new FileChunkFiles(key);
                entries.Add(key, files);
            }

            files.References++;
            files.LastUseTick = ++tick;
            return files;
        }
    }

    /// <summary>Drops a reference taken by <see cref="Acquire"/> or <see cref="CollectDirty"/>.</summary>
    public void Release(FileChunkFiles files)
    {
        lock (entries)
        {
            Invariant.Assert(files.References > 0, "release pairs with acquire");
            files.References--;
        }
    }

    /// <summary>Adds every dirty entry to <paramref name="dirty"/>, each with a reference held.</summary>
    public void CollectDirty(List<FileChunkFiles> dirty)
    {
        lock (entries)
        {
            foreach (FileChunkFiles files in entries.Values)
            {
                if (files.IsDirty)
                {
                    files.References++;
                    dirty.Add(files);
                }
            }
        }
    }

    /// <summary>The errno of a failed fdatasync during eviction since the last call, or 0.</summary>
    public int TakeDeferredSyncError() => Interlocked.Exchange(ref deferredSyncErrno, 0);

    /// <summary>Syncs and closes everything.</summary>
    public void Dispose()
    {
        lock (entries)
        {
            foreach (FileChunkFiles files in entries.Values)
            {
                SyncAndClose(files);
            }

            entries.Clear();
        }
    }

    private void EvictLeastRecentlyUsed()
    {
        FileChunkFiles? victim = null;
        foreach (FileChunkFiles files in entries.Values)
        {
            if (files.References == 0 && (victim is null || files.LastUseTick < victim.LastUseTick))
            {
                victim = files;
            }
        }

        // Every entry in use: the table grows past capacity by at most the operations in flight,
        // which the chunk lock stripes and the caller's queue depth bound.
        if (victim is null)
        {
            return;
        }

        entries.Remove(victim.Key);
        SyncAndClose(victim);
    }

    private void SyncAndClose(FileChunkFiles files)
    {
        if (files.TakeDirty() && files.Data is not null && files.Checksums is not null)
        {
            int errno = LinuxFile.DataSync(files.Data);
            errno = errno != 0 ? errno : LinuxFile.DataSync(files.Checksums);
            if (errno != 0)
            {
                Interlocked.CompareExchange(ref deferredSyncErrno, errno, 0);
            }
        }

        files.Close();
    }
}
