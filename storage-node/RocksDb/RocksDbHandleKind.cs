namespace Sds.Storage.RocksDb;

/// <summary>Which C API destructor releases a <see cref="RocksDbSafeHandle"/>.</summary>
internal enum RocksDbHandleKind
{
    /// <summary><c>rocksdb_t</c>, released by <c>rocksdb_close</c>.</summary>
    Database,
    /// <summary><c>rocksdb_options_t</c>.</summary>
    Options,
    /// <summary><c>rocksdb_readoptions_t</c>.</summary>
    ReadOptions,
    /// <summary><c>rocksdb_writeoptions_t</c>.</summary>
    WriteOptions,
    /// <summary><c>rocksdb_flushoptions_t</c>.</summary>
    FlushOptions,
    /// <summary><c>rocksdb_writebatch_t</c>.</summary>
    WriteBatch,
    /// <summary><c>rocksdb_iterator_t</c>; must die before its database.</summary>
    Iterator,
    /// <summary><c>rocksdb_snapshot_t</c>; released through its database.</summary>
    Snapshot,
    /// <summary><c>rocksdb_column_family_handle_t</c>; must die before its database.</summary>
    ColumnFamily,
}
