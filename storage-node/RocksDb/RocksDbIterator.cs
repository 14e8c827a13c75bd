using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sds.Storage.RocksDb;

/// <summary>
/// An ordered cursor over one column family (<c>rocksdb_iterator_t</c>). It owns its read options
/// and a pinned copy of its bounds, because RocksDB's C API stores only a pointer to the bound keys
/// (<c>rocksdb_readoptions_set_iterate_upper_bound</c> keeps a Slice, not a copy). The copy lives on
/// the pinned object heap, so it cannot move and needs no finalizer. Key and value spans point into
/// RocksDB's memory and are valid only until the iterator moves.
/// </summary>
internal sealed unsafe class RocksDbIterator : IDisposable
{
    private readonly RocksDbSafeHandle readOptions;
    private readonly RocksDbSnapshot? snapshot;
    private readonly byte[]? bounds;
    private bool disposed;

    internal RocksDbIterator(
        RocksDatabase database, RocksDbColumnFamily columnFamily, RocksDbSnapshot? snapshot,
        ReadOnlySpan<byte> lowerBound, ReadOnlySpan<byte> upperBound, bool fillCache)
    {
        readOptions = new RocksDbSafeHandle(RocksDbHandleKind.ReadOptions, RocksDbNative.rocksdb_readoptions_create());
        RocksDbNative.rocksdb_readoptions_set_fill_cache(readOptions, fillCache ? (byte)1 : (byte)0);
        if (snapshot is not null)
        {
            RocksDbNative.rocksdb_readoptions_set_snapshot(readOptions, snapshot.Handle.DangerousGetHandle());
            this.snapshot = snapshot;
        }

        int boundsLength = lowerBound.Length + upperBound.Length;
        if (boundsLength > 0)
        {
            bounds = GC.AllocateUninitializedArray<byte>(boundsLength, pinned: true);
            lowerBound.CopyTo(bounds);
            upperBound.CopyTo(bounds.AsSpan(lowerBound.Length));
            byte* pinnedBounds = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(bounds));
            if (!lowerBound.IsEmpty)
            {
                RocksDbNative.rocksdb_readoptions_set_iterate_lower_bound(readOptions, pinnedBounds, (nuint)lowerBound.Length);
            }

            if (!upperBound.IsEmpty)
            {
                RocksDbNative.rocksdb_readoptions_set_iterate_upper_bound(readOptions, pinnedBounds + lowerBound.Length, (nuint)upperBound.Length);
            }
        }

        nint iterator = RocksDbNative.rocksdb_create_iterator_cf(database.Handle, readOptions, columnFamily.Handle);
        Handle = new RocksDbSafeHandle(RocksDbHandleKind.Iterator, iterator, database.Handle);
    }

    /// <summary>The native iterator.</summary>
    internal RocksDbSafeHandle Handle { get; }

    /// <summary>The snapshot this iterator reads at, if any.</summary>
    public RocksDbSnapshot? Snapshot => snapshot;

    /// <summary>Whether the iterator is positioned on an entry.</summary>
    public bool Valid => RocksDbNative.rocksdb_iter_valid(Handle) != 0;

    /// <summary>Positions on the first entry at or after the lower bound.</summary>
    public void SeekToFirst() => RocksDbNative.rocksdb_iter_seek_to_first(Handle);

    /// <summary>Positions on the last entry before the upper bound.</summary>
    public void SeekToLast() => RocksDbNative.rocksdb_iter_seek_to_last(Handle);

    /// <summary>Positions on the first entry with a key at or after <paramref name="key"/>.</summary>
    public void Seek(ReadOnlySpan<byte> key)
    {
        fixed (byte* keyPointer = key)
        {
            RocksDbNative.rocksdb_iter_seek(Handle, keyPointer, (nuint)key.Length);
        }
    }

    /// <summary>Positions on the last entry with a key at or before <paramref name="key"/>.</summary>
    public void SeekForPrev(ReadOnlySpan<byte> key)
    {
        fixed (byte* keyPointer = key)
        {
            RocksDbNative.rocksdb_iter_seek_for_prev(Handle, keyPointer, (nuint)key.Length);
        }
    }

    /// <summary>Moves to the next entry; requires <see cref="Valid"/>.</summary>
    public void Next() => RocksDbNative.rocksdb_iter_next(Handle);

    /// <summary>Moves to the previous entry; requires <see cref="Valid"/>.</summary>
    public void Prev() => RocksDbNative.rocksdb_iter_prev(Handle);

    /// <summary>The current key; valid until the iterator moves or is disposed.</summary>
    public ReadOnlySpan<byte> Key
    {
        get
        {
            nuint length = 0;
            byte* key = RocksDbNative.rocksdb_iter_key(Handle, &length);
            return new ReadOnlySpan<byte>(key, checked((int)length));
        }
    }

    /// <summary>The current value; valid until the iterator moves or is disposed.</summary>
    public ReadOnlySpan<byte> Value
    {
        get
        {
            nuint length = 0;
            byte* value = RocksDbNative.rocksdb_iter_value(Handle, &length);
            return new ReadOnlySpan<byte>(value, checked((int)length));
        }
    }

    /// <summary>
    /// Why iteration stopped: an invalid iterator is either at the end (OK) or failed (I/O error,
    /// corruption); only this call tells the two apart.
    /// </summary>
    public RocksDbStatus Status()
    {
        nint error = 0;
        RocksDbNative.rocksdb_iter_get_error(Handle, &error);
        return RocksDbStatus.FromError(error);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        // The iterator reads through the options and the bound memory, so it goes first.
        Handle.Dispose();
        readOptions.Dispose();
        GC.KeepAlive(bounds);
    }
}
