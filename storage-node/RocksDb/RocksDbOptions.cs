namespace Sds.Storage.RocksDb;

/// <summary>
/// Database and column-family options (<c>rocksdb_options_t</c>). Only the knobs this project
/// sets are exposed; everything else keeps RocksDB's defaults.
/// </summary>
internal sealed class RocksDbOptions : IDisposable
{
    /// <summary>Creates options with RocksDB's defaults.</summary>
    public RocksDbOptions()
    {
        Handle = new RocksDbSafeHandle(RocksDbHandleKind.Options, RocksDbNative.rocksdb_options_create());
    }

    /// <summary>The native options; valid until disposed.</summary>
    internal RocksDbSafeHandle Handle { get; }

    /// <summary>Create the database directory contents when they do not exist.</summary>
    public RocksDbOptions CreateIfMissing(bool value)
    {
        RocksDbNative.rocksdb_options_set_create_if_missing(Handle, value ? (byte)1 : (byte)0);
        return this;
    }

    /// <summary>Create column families named at open that the database does not have yet.</summary>
    public RocksDbOptions CreateMissingColumnFamilies(bool value)
    {
        RocksDbNative.rocksdb_options_set_create_missing_column_families(Handle, value ? (byte)1 : (byte)0);
        return this;
    }

    /// <summary>Block compression for every level.</summary>
    public RocksDbOptions Compression(RocksDbCompression compression)
    {
        RocksDbNative.rocksdb_options_set_compression(Handle, (int)compression);
        return this;
    }

    /// <summary>Memtable size before it is flushed to an SST file.</summary>
    public RocksDbOptions WriteBufferSize(long writeBufferSizeBytes)
    {
        Invariant.Assert(writeBufferSizeBytes > 0, "write buffer size must be positive");
        RocksDbNative.rocksdb_options_set_write_buffer_size(Handle, (nuint)writeBufferSizeBytes);
        return this;
    }

    /// <summary>Background flush and compaction threads (RocksDB's IncreaseParallelism).</summary>
    public RocksDbOptions Parallelism(int totalThreads)
    {
        Invariant.Assert(totalThreads > 0, "parallelism must be positive");
        RocksDbNative.rocksdb_options_increase_parallelism(Handle, totalThreads);
        return this;
    }

    /// <summary>
    /// RocksDB's OptimizeForPointLookup: whole-key bloom filters, a hashed data-block index and an
    /// LRU block cache of <paramref name="blockCacheSizeMegabytes"/>. Range scans still work.
    /// </summary>
    public RocksDbOptions OptimizeForPointLookup(ulong blockCacheSizeMegabytes)
    {
        Invariant.Assert(blockCacheSizeMegabytes > 0, "block cache size must be positive");
        RocksDbNative.rocksdb_options_optimize_for_point_lookup(Handle, blockCacheSizeMegabytes);
        return this;
    }

    /// <summary>Bound on open SST file descriptors (-1 means unbounded).</summary>
    public RocksDbOptions MaxOpenFiles(int files)
    {
        RocksDbNative.rocksdb_options_set_max_open_files(Handle, files);
        return this;
    }

    /// <inheritdoc />
    public void Dispose() => Handle.Dispose();
}
