namespace Sds.Storage.RocksDb;

/// <summary>
/// An atomic group of puts, deletes and range deletes across column families
/// (<c>rocksdb_writebatch_t</c>). Reusable: <see cref="Clear"/> keeps the native buffer, so a
/// long-lived batch costs no allocation per write.
/// </summary>
internal sealed unsafe class RocksDbWriteBatch : IDisposable
{
    /// <summary>Creates an empty batch.</summary>
    public RocksDbWriteBatch()
    {
        Handle = new RocksDbSafeHandle(RocksDbHandleKind.WriteBatch, RocksDbNative.rocksdb_writebatch_create());
    }

    /// <summary>The native batch; valid until disposed.</summary>
    internal RocksDbSafeHandle Handle { get; }

    /// <summary>Number of operations in the batch.</summary>
    public int Count => RocksDbNative.rocksdb_writebatch_count(Handle);

    /// <summary>Bytes of the batch's serialized representation (RocksDB copies keys and values in).</summary>
    public long SizeBytes
    {
        get
        {
            nuint size = 0;
            RocksDbNative.rocksdb_writebatch_data(Handle, &size);
            return (long)size;
        }
    }

    /// <summary>Adds a put; the key and value are copied into the batch.</summary>
    public void Put(RocksDbColumnFamily columnFamily, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        fixed (byte* keyPointer = key)
        fixed (byte* valuePointer = value)
        {
            RocksDbNative.rocksdb_writebatch_put_cf(Handle, columnFamily.Handle, keyPointer, (nuint)key.Length, valuePointer, (nuint)value.Length);
        }
    }

    /// <summary>Adds a point delete.</summary>
    public void Delete(RocksDbColumnFamily columnFamily, ReadOnlySpan<byte> key)
    {
        fixed (byte* keyPointer = key)
        {
            RocksDbNative.rocksdb_writebatch_delete_cf(Handle, columnFamily.Handle, keyPointer, (nuint)key.Length);
        }
    }

    /// <summary>Adds a delete of every key in [<paramref name="startKey"/>, <paramref name="endKey"/>).</summary>
    public void DeleteRange(RocksDbColumnFamily columnFamily, ReadOnlySpan<byte> startKey, ReadOnlySpan<byte> endKey)
    {
        Invariant.Assert(startKey.SequenceCompareTo(endKey) <= 0, "range start must not follow its end");
        fixed (byte* startPointer = startKey)
        fixed (byte* endPointer = endKey)
        {
            RocksDbNative.rocksdb_writebatch_delete_range_cf(
                Handle, columnFamily.Handle, startPointer, (nuint)startKey.Length, endPointer, (nuint)endKey.Length);
        }
    }

    /// <summary>Empties the batch for reuse.</summary>
    public void Clear() => RocksDbNative.rocksdb_writebatch_clear(Handle);

    /// <inheritdoc />
    public void Dispose() => Handle.Dispose();
}
