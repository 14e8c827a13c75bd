using System.Runtime.InteropServices;

namespace Sds.Storage.RocksDb;

/// <summary>
/// The RocksDB C API functions this project calls (include/rocksdb/c.h of RocksDB 7.8), and
/// nothing more. Handles are <see cref="RocksDbSafeHandle"/>s so the marshaller keeps them alive
/// for the duration of each call; destructors take raw pointers because they run inside
/// <see cref="SafeHandle.ReleaseHandle"/>. Booleans are C <c>unsigned char</c>, mapped to byte.
/// </summary>
internal static unsafe class RocksDbNative
{
    /// <summary>
    /// Debian's librocksdb7.8 ships only the versioned soname (the unversioned .so comes with -dev),
    /// and DESIGN.md §3 names that package, so the binding asks for it by its soname.
    /// </summary>
    public const string Library = "librocksdb.so.7.8";

    // Memory.
    [DllImport(Library)] public static extern void rocksdb_free(nint pointer);

    // Options.
    [DllImport(Library)] public static extern nint rocksdb_options_create();
    [DllImport(Library)] public static extern void rocksdb_options_destroy(nint options);
    [DllImport(Library)] public static extern void rocksdb_options_set_create_if_missing(RocksDbSafeHandle options, byte value);
    [DllImport(Library)] public static extern void rocksdb_options_set_create_missing_column_families(RocksDbSafeHandle options, byte value);
    [DllImport(Library)] public static extern void rocksdb_options_set_compression(RocksDbSafeHandle options, int compression);
    [DllImport(Library)] public static extern void rocksdb_options_set_write_buffer_size(RocksDbSafeHandle options, nuint bytes);
    [DllImport(Library)] public static extern void rocksdb_options_increase_parallelism(RocksDbSafeHandle options, int totalThreads);
    [DllImport(Library)] public static extern void rocksdb_options_optimize_for_point_lookup(RocksDbSafeHandle options, ulong blockCacheSizeMegabytes);
    [DllImport(Library)] public static extern void rocksdb_options_set_max_open_files(RocksDbSafeHandle options, int files);

    [DllImport(Library)] public static extern nint rocksdb_writeoptions_create();
    [DllImport(Library)] public static extern void rocksdb_writeoptions_destroy(nint options);
    [DllImport(Library)] public static extern void rocksdb_writeoptions_set_sync(RocksDbSafeHandle options, byte value);
    [DllImport(Library)] public static extern void rocksdb_writeoptions_disable_WAL(RocksDbSafeHandle options, int disable);

    [DllImport(Library)] public static extern nint rocksdb_readoptions_create();
    [DllImport(Library)] public static extern void rocksdb_readoptions_destroy(nint options);
    [DllImport(Library)] public static extern void rocksdb_readoptions_set_snapshot(RocksDbSafeHandle options, nint snapshot);
    [DllImport(Library)] public static extern void rocksdb_readoptions_set_verify_checksums(RocksDbSafeHandle options, byte value);
    [DllImport(Library)] public static extern void rocksdb_readoptions_set_fill_cache(RocksDbSafeHandle options, byte value);
    [DllImport(Library)] public static extern void rocksdb_readoptions_set_iterate_upper_bound(RocksDbSafeHandle options, byte* key, nuint keyLength);
    [DllImport(Library)] public static extern void rocksdb_readoptions_set_iterate_lower_bound(RocksDbSafeHandle options, byte* key, nuint keyLength);

    [DllImport(Library)] public static extern nint rocksdb_flushoptions_create();
    [DllImport(Library)] public static extern void rocksdb_flushoptions_destroy(nint options);
    [DllImport(Library)] public static extern void rocksdb_flushoptions_set_wait(RocksDbSafeHandle options, byte value);

    // Open and close.
    [DllImport(Library)]
    public static extern nint rocksdb_open_column_families(
        RocksDbSafeHandle options, byte* name, int columnFamilyCount, byte** columnFamilyNames,
        nint* columnFamilyOptions, nint* columnFamilyHandles, nint* error);
    [DllImport(Library)] public static extern void rocksdb_close(nint database);
    [DllImport(Library)] public static extern byte** rocksdb_list_column_families(RocksDbSafeHandle options, byte* name, nuint* count, nint* error);
    [DllImport(Library)] public static extern void rocksdb_list_column_families_destroy(byte** list, nuint count);

    // Column families.
    [DllImport(Library)] public static extern nint rocksdb_create_column_family(RocksDbSafeHandle database, RocksDbSafeHandle options, byte* name, nint* error);
    [DllImport(Library)] public static extern void rocksdb_drop_column_family(RocksDbSafeHandle database, RocksDbSafeHandle columnFamily, nint* error);
    [DllImport(Library)] public static extern void rocksdb_column_family_handle_destroy(nint columnFamily);

    // Point operations.
    [DllImport(Library)]
    public static extern void rocksdb_put_cf(
        RocksDbSafeHandle database, RocksDbSafeHandle options, RocksDbSafeHandle columnFamily,
        byte* key, nuint keyLength, byte* value, nuint valueLength, nint* error);
    [DllImport(Library)]
    public static extern nint rocksdb_get_pinned_cf(
        RocksDbSafeHandle database, RocksDbSafeHandle options, RocksDbSafeHandle columnFamily,
        byte* key, nuint keyLength, nint* error);
    [DllImport(Library)] public static extern byte* rocksdb_pinnableslice_value(nint slice, nuint* valueLength);
    [DllImport(Library)] public static extern void rocksdb_pinnableslice_destroy(nint slice);
    [DllImport(Library)]
    public static extern void rocksdb_delete_cf(
        RocksDbSafeHandle database, RocksDbSafeHandle options, RocksDbSafeHandle columnFamily,
        byte* key, nuint keyLength, nint* error);
    [DllImport(Library)]
    public static extern void rocksdb_delete_range_cf(
        RocksDbSafeHandle database, RocksDbSafeHandle options, RocksDbSafeHandle columnFamily,
        byte* startKey, nuint startKeyLength, byte* endKey, nuint endKeyLength, nint* error);

    // Write batches.
    [DllImport(Library)] public static extern nint rocksdb_writebatch_create();
    [DllImport(Library)] public static extern void rocksdb_writebatch_destroy(nint batch);
    [DllImport(Library)] public static extern void rocksdb_writebatch_clear(RocksDbSafeHandle batch);
    [DllImport(Library)] public static extern int rocksdb_writebatch_count(RocksDbSafeHandle batch);
    [DllImport(Library)] public static extern byte* rocksdb_writebatch_data(RocksDbSafeHandle batch, nuint* size);
    [DllImport(Library)]
    public static extern void rocksdb_writebatch_put_cf(
        RocksDbSafeHandle batch, RocksDbSafeHandle columnFamily, byte* key, nuint keyLength, byte* value, nuint valueLength);
    [DllImport(Library)]
    public static extern void rocksdb_writebatch_delete_cf(RocksDbSafeHandle batch, RocksDbSafeHandle columnFamily, byte* key, nuint keyLength);
    [DllImport(Library)]
    public static extern void rocksdb_writebatch_delete_range_cf(
        RocksDbSafeHandle batch, RocksDbSafeHandle columnFamily, byte* startKey, nuint startKeyLength, byte* endKey, nuint endKeyLength);
    [DllImport(Library)] public static extern void rocksdb_write(RocksDbSafeHandle database, RocksDbSafeHandle options, RocksDbSafeHandle batch, nint* error);

    // Iterators.
    [DllImport(Library)] public static extern nint rocksdb_create_iterator_cf(RocksDbSafeHandle database, RocksDbSafeHandle options, RocksDbSafeHandle columnFamily);
    [DllImport(Library)] public static extern void rocksdb_iter_destroy(nint iterator);
    [DllImport(Library)] public static extern byte rocksdb_iter_valid(RocksDbSafeHandle iterator);
    [DllImport(Library)] public static extern void rocksdb_iter_seek_to_first(RocksDbSafeHandle iterator);
    [DllImport(Library)] public static extern void rocksdb_iter_seek_to_last(RocksDbSafeHandle iterator);
    [DllImport(Library)] public static extern void rocksdb_iter_seek(RocksDbSafeHandle iterator, byte* key, nuint keyLength);
    [DllImport(Library)] public static extern void rocksdb_iter_seek_for_prev(RocksDbSafeHandle iterator, byte* key, nuint keyLength);
    [DllImport(Library)] public static extern void rocksdb_iter_next(RocksDbSafeHandle iterator);
    [DllImport(Library)] public static extern void rocksdb_iter_prev(RocksDbSafeHandle iterator);
    [DllImport(Library)] public static extern byte* rocksdb_iter_key(RocksDbSafeHandle iterator, nuint* keyLength);
    [DllImport(Library)] public static extern byte* rocksdb_iter_value(RocksDbSafeHandle iterator, nuint* valueLength);
    [DllImport(Library)] public static extern void rocksdb_iter_get_error(RocksDbSafeHandle iterator, nint* error);

    // Snapshots.
    [DllImport(Library)] public static extern nint rocksdb_create_snapshot(RocksDbSafeHandle database);
    [DllImport(Library)] public static extern void rocksdb_release_snapshot(nint database, nint snapshot);

    // Maintenance.
    [DllImport(Library)] public static extern void rocksdb_flush_cf(RocksDbSafeHandle database, RocksDbSafeHandle options, RocksDbSafeHandle columnFamily, nint* error);
    [DllImport(Library)] public static extern void rocksdb_flush_wal(RocksDbSafeHandle database, byte sync, nint* error);
    [DllImport(Library)] public static extern nint rocksdb_property_value(RocksDbSafeHandle database, byte* propertyName);
    [DllImport(Library)] public static extern nint rocksdb_property_value_cf(RocksDbSafeHandle database, RocksDbSafeHandle columnFamily, byte* propertyName);
}
