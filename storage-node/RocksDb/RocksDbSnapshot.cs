namespace Sds.Storage.RocksDb;

/// <summary>
/// A consistent point-in-time view (<c>rocksdb_snapshot_t</c>). Released through its database
/// on dispose; until then RocksDB keeps every version it needs, so release snapshots promptly.
/// </summary>
internal sealed class RocksDbSnapshot : IDisposable
{
    internal RocksDbSnapshot(RocksDbSafeHandle handle)
    {
        Invariant.Assert(handle.Database is not null, "a snapshot belongs to a database");
        Handle = handle;
    }

    /// <summary>The native snapshot; valid until disposed.</summary>
    internal RocksDbSafeHandle Handle { get; }

    /// <inheritdoc />
    public void Dispose() => Handle.Dispose();
}
