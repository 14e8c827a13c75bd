using System.Runtime.InteropServices;

namespace Sds.Storage.RocksDb;

/// <summary>
/// One SafeHandle type for every C API object. A child object (iterator, snapshot, column family)
/// holds a reference on its database handle, so <c>rocksdb_close</c> runs only after every child
/// is destroyed, whatever order the managed wrappers are disposed or finalized in.
/// </summary>
internal sealed class RocksDbSafeHandle : SafeHandle
{
    private readonly RocksDbHandleKind kind;
    private readonly RocksDbSafeHandle? database;

    /// <summary>Wraps a non-null native pointer; <paramref name="database"/> is required for children.</summary>
    public RocksDbSafeHandle(RocksDbHandleKind kind, nint pointer, RocksDbSafeHandle? database = null)
        : base(0, ownsHandle: true)
    {
        Invariant.Assert(pointer != 0, "only successful C API results are wrapped");
        bool isChild = kind is RocksDbHandleKind.Iterator or RocksDbHandleKind.Snapshot or RocksDbHandleKind.ColumnFamily;
        Invariant.Assert(isChild == (database is not null), "children and only children name their database");
        this.kind = kind;
        if (database is not null)
        {
            bool added = false;
            database.DangerousAddRef(ref added);
            Invariant.Assert(added, "a child is created from a live database");
            this.database = database;
        }

        SetHandle(pointer);
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == 0;

    /// <summary>The database this child belongs to, if it is one.</summary>
    public RocksDbSafeHandle? Database => database;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        switch (kind)
        {
            case RocksDbHandleKind.Database:
                RocksDbNative.rocksdb_close(handle);
                break;
            case RocksDbHandleKind.Options:
                RocksDbNative.rocksdb_options_destroy(handle);
                break;
            case RocksDbHandleKind.ReadOptions:
                RocksDbNative.rocksdb_readoptions_destroy(handle);
                break;
            case RocksDbHandleKind.WriteOptions:
                RocksDbNative.rocksdb_writeoptions_destroy(handle);
                break;
            case RocksDbHandleKind.FlushOptions:
                RocksDbNative.rocksdb_flushoptions_destroy(handle);
                break;
            case RocksDbHandleKind.WriteBatch:
                RocksDbNative.rocksdb_writebatch_destroy(handle);
                break;
            case RocksDbHandleKind.Iterator:
                RocksDbNative.rocksdb_iter_destroy(handle);
                break;
            case RocksDbHandleKind.Snapshot:
                RocksDbNative.rocksdb_release_snapshot(database!.DangerousGetHandle(), handle);
                break;
            case RocksDbHandleKind.ColumnFamily:
                RocksDbNative.rocksdb_column_family_handle_destroy(handle);
                break;
        }

        database?.DangerousRelease();
        return true;
    }
}
