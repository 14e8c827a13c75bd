namespace Sds.Storage.RocksDb;

/// <summary>
/// An open column family (<c>rocksdb_column_family_handle_t</c>). Owned by its
/// <see cref="RocksDatabase"/>, which destroys it before closing.
/// </summary>
internal sealed class RocksDbColumnFamily
{
    internal RocksDbColumnFamily(string name, RocksDbSafeHandle handle)
    {
        Invariant.Assert(handle.Database is not null, "a column family belongs to a database");
        Name = name;
        Handle = handle;
    }

    /// <summary>The column family's name ("default" for the one every database has).</summary>
    public string Name { get; }

    /// <summary>The native handle.</summary>
    internal RocksDbSafeHandle Handle { get; }
}
