using System.Runtime.InteropServices;
using System.Text;

namespace Sds.Storage.RocksDb;

/// <summary>
/// An open RocksDB database (<c>rocksdb_t</c>) with all of its column families. Every failure is
/// a <see cref="RocksDbStatus"/> value; nothing here throws for an operating error. Point reads
/// copy into the caller's buffer through a pinnable slice, so the read path allocates nothing
/// managed. Thread-safe as RocksDB is: any number of threads may read and write concurrently.
/// </summary>
internal sealed unsafe class RocksDatabase : IDisposable
{
    /// <summary>The column family every RocksDB database has.</summary>
    public const string DefaultColumnFamilyName = "default";

    // Guarded by itself; column families are created and dropped rarely, looked up by name on open.
    private readonly Dictionary<string, RocksDbColumnFamily> columnFamilies;
    private readonly RocksDbSafeHandle flushOptions;
    private bool disposed;

    private RocksDatabase(string path, RocksDbSafeHandle handle, Dictionary<string, RocksDbColumnFamily> columnFamilies)
    {
        Invariant.Assert(columnFamilies.ContainsKey(DefaultColumnFamilyName), "the default column family is always open");
        Path = path;
        Handle = handle;
        this.columnFamilies = columnFamilies;
        flushOptions = new RocksDbSafeHandle(RocksDbHandleKind.FlushOptions, RocksDbNative.rocksdb_flushoptions_create());
        RocksDbNative.rocksdb_flushoptions_set_wait(flushOptions, 1);
        DefaultColumnFamily = columnFamilies[DefaultColumnFamilyName];
    }

    /// <summary>The database directory.</summary>
    public string Path { get; }

    /// <summary>The "default" column family.</summary>
    public RocksDbColumnFamily DefaultColumnFamily { get; }

    /// <summary>The native database handle.</summary>
    internal RocksDbSafeHandle Handle { get; }

    /// <summary>
    /// Opens the database at <paramref name="path"/> with every column family it already has plus
    /// <paramref name="extraColumnFamilies"/> (created when the options allow it). RocksDB refuses
    /// to open a database without naming all of its column families, so this lists them first.
    /// </summary>
    public static RocksDbStatus Open(
        string path, RocksDbOptions options, ReadOnlySpan<string> extraColumnFamilies, out RocksDatabase? database)
    {
        database = null;
        var names = new List<string> { DefaultColumnFamilyName };
        RocksDbStatus listed = ListColumnFamilies(path, options, names);
        // A database that does not exist yet has no column families to list; RocksDB says so with
        // an IO error about the missing CURRENT file, and open decides whether to create it.
        if (!listed.IsOk && listed.Kind is not (RocksDbErrorKind.IoError or RocksDbErrorKind.NotFound))
        {
            return listed;
        }

        foreach (string name in extraColumnFamilies)
        {
            if (!names.Contains(name))
            {
                names.Add(name);
            }
        }

        return OpenColumnFamilies(path, options, names, out database);
    }

    /// <summary>Opens the database with exactly the named column families (RocksDB's open_column_families).</summary>
    public static RocksDbStatus OpenColumnFamilies(
        string path, RocksDbOptions options, IReadOnlyList<string> names, out RocksDatabase? database)
    {
        Invariant.Assert(names.Count > 0 && names.Count <= 1024, "column family count is bounded");
        database = null;
        int count = names.Count;
        byte[][] encodedNames = new byte[count][];
        var nameHandles = new GCHandle[count];
        byte** namePointers = stackalloc byte*[count];
        nint* optionPointers = stackalloc nint[count];
        nint* handles = stackalloc nint[count];
        bool added = false;
        options.Handle.DangerousAddRef(ref added);
        try
        {
            for (int i = 0; i < count; i++)
            {
                encodedNames[i] = NullTerminated(names[i]);
                nameHandles[i] = GCHandle.Alloc(encodedNames[i], GCHandleType.Pinned);
                namePointers[i] = (byte*)nameHandles[i].AddrOfPinnedObject();
                optionPointers[i] = options.Handle.DangerousGetHandle();
                handles[i] = 0;
            }

            nint error = 0;
            nint db;
            fixed (byte* pathPointer = NullTerminated(path))
            {
                db = RocksDbNative.rocksdb_open_column_families(
                    options.Handle, pathPointer, count, namePointers, optionPointers, handles, &error);
            }

            RocksDbStatus status = RocksDbStatus.FromError(error);
            if (!status.IsOk)
            {
                Invariant.Assert(db == 0, "a failed open returns no database");
                return status;
            }

            Invariant.Assert(db != 0, "a successful open returns a database");
            var databaseHandle = new RocksDbSafeHandle(RocksDbHandleKind.Database, db);
            var families = new Dictionary<string, RocksDbColumnFamily>(count, StringComparer.Ordinal);
            for (int i = 0; i < count; i++)
            {
                var handle = new RocksDbSafeHandle(RocksDbHandleKind.ColumnFamily, handles[i], databaseHandle);
                families.Add(names[i], new RocksDbColumnFamily(names[i], handle));
            }

            database = new RocksDatabase(path, databaseHandle, families);
            return RocksDbStatus.Ok;
        }
        finally
        {
            for (int i = 0; i < count; i++)
            {
                if (nameHandles[i].IsAllocated)
                {
                    nameHandles[i].Free();
                }
            }

            options.Handle.DangerousRelease();
        }
    }

    /// <summary>Appends the names of the column families stored at <paramref name="path"/> that are not in the list yet.</summary>
    public static RocksDbStatus ListColumnFamilies(string path, RocksDbOptions options, List<string> names)
    {
        nint error = 0;
        nuint count = 0;
        byte** list;
        fixed (byte* pathPointer = NullTerminated(path))
        {
            list = RocksDbNative.rocksdb_list_column_families(options.Handle, pathPointer, &count, &error);
        }

        RocksDbStatus status = RocksDbStatus.FromError(error);
        if (!status.IsOk)
        {
            return status;
        }

        for (nuint i = 0; i < count; i++)
        {
            string name = Marshal.PtrToStringUTF8((nint)list[i])!;
            if (!names.Contains(name))
            {
                names.Add(name);
            }
        }

        RocksDbNative.rocksdb_list_column_families_destroy(list, count);
        return RocksDbStatus.Ok;
    }

    /// <summary>The open column family with this name, or null.</summary>
    public RocksDbColumnFamily? GetColumnFamily(string name)
    {
        lock (columnFamilies)
        {
            return columnFamilies.GetValueOrDefault(name);
        }
    }

    /// <summary>Names of the open column families.</summary>
    public IReadOnlyList<string> ColumnFamilyNames()
    {
        lock (columnFamilies)
        {
            return columnFamilies.Keys.ToList();
        }
    }

    /// <summary>Creates a column family; it stays open until dropped or the database closes.</summary>
    public RocksDbStatus CreateColumnFamily(string name, RocksDbOptions options, out RocksDbColumnFamily? columnFamily)
    {
        columnFamily = null;
        lock (columnFamilies)
        {
            if (columnFamilies.ContainsKey(name))
            {
                return RocksDbStatus.Failure(RocksDbErrorKind.InvalidArgument, $"column family '{name}' already exists");
            }

            nint error = 0;
            nint handle;
            fixed (byte* namePointer = NullTerminated(name))
            {
                handle = RocksDbNative.rocksdb_create_column_family(Handle, options.Handle, namePointer, &error);
            }

            RocksDbStatus status = RocksDbStatus.FromError(error);
            if (!status.IsOk)
            {
                return status;
            }

            columnFamily = new RocksDbColumnFamily(name, new RocksDbSafeHandle(RocksDbHandleKind.ColumnFamily, handle, Handle));
            columnFamilies.Add(name, columnFamily);
            return RocksDbStatus.Ok;
        }
    }

    /// <summary>Drops a column family and all of its data; its handle is destroyed.</summary>
    public RocksDbStatus DropColumnFamily(RocksDbColumnFamily columnFamily)
    {
        if (columnFamily.Name == DefaultColumnFamilyName)
        {
            return RocksDbStatus.Failure(RocksDbErrorKind.InvalidArgument, "the default column family cannot be dropped");
        }

        lock (columnFamilies)
        {
            nint error = 0;
            RocksDbNative.rocksdb_drop_column_family(Handle, columnFamily.Handle, &error);
            RocksDbStatus status = RocksDbStatus.FromError(error);
            if (status.IsOk)
            {
                columnFamilies.Remove(columnFamily.Name);
                columnFamily.Handle.Dispose();
            }

            return status;
        }
    }

    /// <summary>Stores one key.</summary>
    public RocksDbStatus Put(RocksDbColumnFamily columnFamily, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, RocksDbWriteOptions options)
    {
        nint error = 0;
        fixed (byte* keyPointer = key)
        fixed (byte* valuePointer = value)
        {
            RocksDbNative.rocksdb_put_cf(
                Handle, options.Handle, columnFamily.Handle, keyPointer, (nuint)key.Length, valuePointer, (nuint)value.Length, &error);
        }

        return RocksDbStatus.FromError(error);
    }

    /// <summary>
    /// Reads one key into <paramref name="value"/> without a managed allocation: RocksDB pins the
    /// value (often in its block cache) and this copies it out before unpinning.
    /// </summary>
    public RocksDbGetResult Get(RocksDbColumnFamily columnFamily, ReadOnlySpan<byte> key, Span<byte> value, RocksDbReadOptions options)
    {
        nint error = 0;
        nint slice;
        fixed (byte* keyPointer = key)
        {
            slice = RocksDbNative.rocksdb_get_pinned_cf(Handle, options.Handle, columnFamily.Handle, keyPointer, (nuint)key.Length, &error);
        }

        RocksDbStatus status = RocksDbStatus.FromError(error);
        if (!status.IsOk || slice == 0)
        {
            Invariant.Assert(slice == 0, "a failed read pins nothing");
            return new RocksDbGetResult(status, found: false, valueLengthBytes: 0);
        }

        nuint length = 0;
        byte* stored = RocksDbNative.rocksdb_pinnableslice_value(slice, &length);
        int valueLength = checked((int)length);
        new ReadOnlySpan<byte>(stored, Math.Min(valueLength, value.Length)).CopyTo(value);
        RocksDbNative.rocksdb_pinnableslice_destroy(slice);
        return new RocksDbGetResult(RocksDbStatus.Ok, found: true, valueLength);
    }

    /// <summary>Deletes one key (a tombstone; deleting a missing key is not an error).</summary>
    public RocksDbStatus Delete(RocksDbColumnFamily columnFamily, ReadOnlySpan<byte> key, RocksDbWriteOptions options)
    {
        nint error = 0;
        fixed (byte* keyPointer = key)
        {
            RocksDbNative.rocksdb_delete_cf(Handle, options.Handle, columnFamily.Handle, keyPointer, (nuint)key.Length, &error);
        }

        return RocksDbStatus.FromError(error);
    }

    /// <summary>Deletes every key in [<paramref name="startKey"/>, <paramref name="endKey"/>) with one range tombstone.</summary>
    public RocksDbStatus DeleteRange(
        RocksDbColumnFamily columnFamily, ReadOnlySpan<byte> startKey, ReadOnlySpan<byte> endKey, RocksDbWriteOptions options)
    {
        Invariant.Assert(startKey.SequenceCompareTo(endKey) <= 0, "range start must not follow its end");
        nint error = 0;
        fixed (byte* startPointer = startKey)
        fixed (byte* endPointer = endKey)
        {
            RocksDbNative.rocksdb_delete_range_cf(
                Handle, options.Handle, columnFamily.Handle, startPointer, (nuint)startKey.Length, endPointer, (nuint)endKey.Length, &error);
        }

        return RocksDbStatus.FromError(error);
    }

    /// <summary>Applies a batch atomically; with synced options it is durable when this returns OK.</summary>
    public RocksDbStatus Write(RocksDbWriteBatch batch, RocksDbWriteOptions options)
    {
        nint error = 0;
        RocksDbNative.rocksdb_write(Handle, options.Handle, batch.Handle, &error);
        return RocksDbStatus.FromError(error);
    }

    /// <summary>
    /// Opens an iterator over one column family, optionally at a snapshot and within
    /// [<paramref name="lowerBound"/>, <paramref name="upperBound"/>) (an empty span means unbounded).
    /// </summary>
    public RocksDbIterator NewIterator(
        RocksDbColumnFamily columnFamily, ReadOnlySpan<byte> lowerBound = default, ReadOnlySpan<byte> upperBound = default,
        RocksDbSnapshot? snapshot = null, bool fillCache = true)
        => new(this, columnFamily, snapshot, lowerBound, upperBound, fillCache);

    /// <summary>Takes a snapshot of the whole database.</summary>
    public RocksDbSnapshot CreateSnapshot()
    {
        nint snapshot = RocksDbNative.rocksdb_create_snapshot(Handle);
        return new RocksDbSnapshot(new RocksDbSafeHandle(RocksDbHandleKind.Snapshot, snapshot, Handle));
    }

    /// <summary>Flushes a column family's memtable to an SST file and waits for it.</summary>
    public RocksDbStatus Flush(RocksDbColumnFamily columnFamily)
    {
        nint error = 0;
        RocksDbNative.rocksdb_flush_cf(Handle, flushOptions, columnFamily.Handle, &error);
        return RocksDbStatus.FromError(error);
    }

    /// <summary>Writes the WAL buffer out and, with <paramref name="sync"/>, fdatasync()s it.</summary>
    public RocksDbStatus FlushWal(bool sync)
    {
        nint error = 0;
        RocksDbNative.rocksdb_flush_wal(Handle, sync ? (byte)1 : (byte)0, &error);
        return RocksDbStatus.FromError(error);
    }

    /// <summary>A database-wide RocksDB property such as "rocksdb.stats"; null when unknown.</summary>
    public string? GetProperty(string name)
    {
        nint value;
        fixed (byte* namePointer = NullTerminated(name))
        {
            value = RocksDbNative.rocksdb_property_value(Handle, namePointer);
        }

        return TakePropertyValue(value);
    }

    /// <summary>A column family's RocksDB property such as "rocksdb.estimate-num-keys"; null when unknown.</summary>
    public string? GetProperty(RocksDbColumnFamily columnFamily, string name)
    {
        nint value;
        fixed (byte* namePointer = NullTerminated(name))
        {
            value = RocksDbNative.rocksdb_property_value_cf(Handle, columnFamily.Handle, namePointer);
        }

        return TakePropertyValue(value);
    }

    /// <summary>Copies and frees a property string malloc()ed by RocksDB.</summary>
    private static string? TakePropertyValue(nint value)
    {
        if (value == 0)
        {
            return null;
        }

        string text = Marshal.PtrToStringUTF8(value)!;
        RocksDbNative.rocksdb_free(value);
        return text;
    }

    /// <summary>
    /// Destroys the column family handles and closes the database. The close itself runs when the
    /// last child (iterator, snapshot) is disposed, since each holds a reference on the database.
    /// </summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        lock (columnFamilies)
        {
            foreach (RocksDbColumnFamily columnFamily in columnFamilies.Values)
            {
                columnFamily.Handle.Dispose();
            }

            columnFamilies.Clear();
        }

        flushOptions.Dispose();
        Handle.Dispose();
    }

    private static byte[] NullTerminated(string text)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}
