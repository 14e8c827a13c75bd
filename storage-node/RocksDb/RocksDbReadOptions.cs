namespace Sds.Storage.RocksDb;

/// <summary>
/// Read options for point reads (<c>rocksdb_readoptions_t</c>), optionally pinned to a snapshot.
/// Iterators own their own read options because RocksDB keeps pointers to the bound keys.
/// </summary>
internal sealed class RocksDbReadOptions : IDisposable
{
    // Held so the snapshot cannot be released while these options still point at it.
    private readonly RocksDbSnapshot? snapshot;

    /// <summary>Creates read options; with a snapshot every read sees the database as of that snapshot.</summary>
    public RocksDbReadOptions(RocksDbSnapshot? snapshot = null, bool fillCache = true, bool verifyChecksums = true)
    {
        Handle = new RocksDbSafeHandle(RocksDbHandleKind.ReadOptions, RocksDbNative.rocksdb_readoptions_create());
        RocksDbNative.rocksdb_readoptions_set_fill_cache(Handle, fillCache ? (byte)1 : (byte)0);
        RocksDbNative.rocksdb_readoptions_set_verify_checksums(Handle, verifyChecksums ? (byte)1 : (byte)0);
        if (snapshot is not null)
        {
            RocksDbNative.rocksdb_readoptions_set_snapshot(Handle, snapshot.Handle.DangerousGetHandle());
            this.snapshot = snapshot;
        }
    }

    /// <summary>The snapshot these options read at, if any.</summary>
    public RocksDbSnapshot? Snapshot => snapshot;

    /// <summary>The native options; valid until disposed.</summary>
    internal RocksDbSafeHandle Handle { get; }

    /// <inheritdoc />
    public void Dispose() => Handle.Dispose();
}
