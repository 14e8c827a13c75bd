namespace Sds.Storage.RocksDb;

/// <summary>
/// Write options (<c>rocksdb_writeoptions_t</c>). With <c>sync</c> the WAL is fdatasync()ed
/// before the write returns, which is what "acknowledged means durable" needs (DESIGN.md §5).
/// </summary>
internal sealed class RocksDbWriteOptions : IDisposable
{
    /// <summary>Creates write options.</summary>
    public RocksDbWriteOptions(bool sync, bool disableWal = false)
    {
        Invariant.Assert(!(sync && disableWal), "a synced write without a WAL syncs nothing");
        Handle = new RocksDbSafeHandle(RocksDbHandleKind.WriteOptions, RocksDbNative.rocksdb_writeoptions_create());
        RocksDbNative.rocksdb_writeoptions_set_sync(Handle, sync ? (byte)1 : (byte)0);
        RocksDbNative.rocksdb_writeoptions_disable_WAL(Handle, disableWal ? 1 : 0);
        Sync = sync;
    }

    /// <summary>Whether each write waits for the WAL to reach the disk.</summary>
    public bool Sync { get; }

    /// <summary>The native options; valid until disposed.</summary>
    internal RocksDbSafeHandle Handle { get; }

    /// <inheritdoc />
    public void Dispose() => Handle.Dispose();
}
