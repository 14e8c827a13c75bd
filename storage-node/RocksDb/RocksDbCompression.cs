namespace Sds.Storage.RocksDb;

/// <summary>RocksDB's <c>CompressionType</c> values as the C API takes them (<c>rocksdb_*_compression</c>).</summary>
internal enum RocksDbCompression
{
    /// <summary>No compression: block data is usually incompressible or already compressed by the guest.</summary>
    None = 0,
    /// <summary>Snappy.</summary>
    Snappy = 1,
    /// <summary>LZ4: cheap enough for metadata; Debian's librocksdb7.8 links liblz4.</summary>
    Lz4 = 4,
    /// <summary>Zstandard.</summary>
    Zstd = 7,
}
