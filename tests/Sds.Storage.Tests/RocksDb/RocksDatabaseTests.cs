using System.Text;
using Sds.Storage.RocksDb;

namespace Sds.Storage.Tests.RocksDb;

/// <summary>
/// Proves the RocksDB binding against the real librocksdb7.8: every call used by the stores works
/// (point operations, batches with sync, iterators with bounds, snapshots, range deletes, column
/// families, flush, properties), data survives close and reopen, and failures come back as
/// <see cref="RocksDbStatus"/> values (bad paths, a second open of a locked directory) rather than
/// crashes or exceptions.
/// </summary>
public sealed class RocksDatabaseTests : IDisposable
{
    private readonly TemporaryDirectory directory = new();

    public void Dispose() => directory.Dispose();

    [Fact]
    public void PutGetDelete_RoundTrip()
    {
        using RocksDatabase db = OpenDatabase("db");
        using var write = new RocksDbWriteOptions(sync: false);
        using var read = new RocksDbReadOptions();
        Assert.True(db.Put(db.DefaultColumnFamily, Bytes("k1"), Bytes("value-1"), write).IsOk);

        byte[] buffer = new byte[64];
        RocksDbGetResult got = db.Get(db.DefaultColumnFamily, Bytes("k1"), buffer, read);
        Assert.True(got.Status.IsOk);
        Assert.True(got.Found);
        Assert.Equal("value-1", Encoding.ASCII.GetString(buffer, 0, got.ValueLengthBytes));

        Assert.True(db.Delete(db.DefaultColumnFamily, Bytes("k1"), write).IsOk);
        got = db.Get(db.DefaultColumnFamily, Bytes("k1"), buffer, read);
        Assert.True(got.Status.IsOk);
        Assert.False(got.Found);
    }

    [Fact]
    public void Get_IntoSmallBuffer_ReportsFullLength()
    {
        using RocksDatabase db = OpenDatabase("db");
        using var write = new RocksDbWriteOptions(sync: false);
        using var read = new RocksDbReadOptions();
        db.Put(db.DefaultColumnFamily, Bytes("k"), Bytes("0123456789"), write);
        byte[] small = new byte[4];
        RocksDbGetResult got = db.Get(db.DefaultColumnFamily, Bytes("k"), small, read);
        Assert.True(got.Found);
        Assert.Equal(10, got.ValueLengthBytes);
        Assert.Equal("0123", Encoding.ASCII.GetString(small));
    }

    [Fact]
    public void SyncedBatch_IsAtomicAcrossColumnFamilies()
    {
        using RocksDatabase db = OpenDatabase("db", "meta", "data");
        RocksDbColumnFamily meta = db.GetColumnFamily("meta")!;
        RocksDbColumnFamily data = db.GetColumnFamily("data")!;
        using var sync = new RocksDbWriteOptions(sync: true);
        using var read = new RocksDbReadOptions();
        db.Put(data, Bytes("gone"), Bytes("x"), sync);

        using var batch = new RocksDbWriteBatch();
        batch.Put(meta, Bytes("applied"), Bytes("7"));
        batch.Put(data, Bytes("a"), Bytes("1"));
        batch.Delete(data, Bytes("gone"));
        Assert.Equal(3, batch.Count);
        Assert.True(batch.SizeBytes > 0);
        Assert.True(db.Write(batch, sync).IsOk);

        byte[] buffer = new byte[8];
        Assert.True(db.Get(meta, Bytes("applied"), buffer, read).Found);
        Assert.True(db.Get(data, Bytes("a"), buffer, read).Found);
        Assert.False(db.Get(data, Bytes("gone"), buffer, read).Found);
        // The same key in another column family is another key.
        Assert.False(db.Get(db.DefaultColumnFamily, Bytes("a"), buffer, read).Found);

        batch.Clear();
        Assert.Equal(0, batch.Count);
    }

    [Fact]
    public void Iterator_WalksInOrder_AndHonoursBounds()
    {
        using RocksDatabase db = OpenDatabase("db");
        using var write = new RocksDbWriteOptions(sync: false);
        foreach (string key in new[] { "d", "a", "c", "e", "b" })
        {
            db.Put(db.DefaultColumnFamily, Bytes(key), Bytes("v" + key), write);
        }

        using (RocksDbIterator all = db.NewIterator(db.DefaultColumnFamily))
        {
            Assert.Equal(["a", "b", "c", "d", "e"], Keys(all));
            Assert.True(all.Status().IsOk);
        }

        using (RocksDbIterator bounded = db.NewIterator(db.DefaultColumnFamily, Bytes("b"), Bytes("d")))
        {
            // RocksDB keeps only pointers to the bounds; a compacting GC must not move them.
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            Assert.Equal(["b", "c"], Keys(bounded));
            bounded.SeekToLast();
            Assert.True(bounded.Valid);
            Assert.Equal("c", Encoding.ASCII.GetString(bounded.Key));
            Assert.Equal("vc", Encoding.ASCII.GetString(bounded.Value));
        }

        using RocksDbIterator seeking = db.NewIterator(db.DefaultColumnFamily);
        seeking.Seek(Bytes("bb"));
        Assert.Equal("c", Encoding.ASCII.GetString(seeking.Key));
        seeking.SeekForPrev(Bytes("bb"));
        Assert.Equal("b", Encoding.ASCII.GetString(seeking.Key));
        seeking.Prev();
        Assert.Equal("a", Encoding.ASCII.GetString(seeking.Key));
        seeking.Seek(Bytes("z"));
        Assert.False(seeking.Valid);
        Assert.True(seeking.Status().IsOk);
    }

    [Fact]
    public void Snapshot_IsolatesReadsAndIterators()
    {
        using RocksDatabase db = OpenDatabase("db");
        using var write = new RocksDbWriteOptions(sync: false);
        db.Put(db.DefaultColumnFamily, Bytes("k"), Bytes("old"), write);
        using RocksDbSnapshot snapshot = db.CreateSnapshot();
        db.Put(db.DefaultColumnFamily, Bytes("k"), Bytes("new"), write);
        db.Put(db.DefaultColumnFamily, Bytes("later"), Bytes("x"), write);

        byte[] buffer = new byte[8];
        using (var atSnapshot = new RocksDbReadOptions(snapshot))
        {
            RocksDbGetResult got = db.Get(db.DefaultColumnFamily, Bytes("k"), buffer, atSnapshot);
            Assert.Equal("old", Encoding.ASCII.GetString(buffer, 0, got.ValueLengthBytes));
            Assert.False(db.Get(db.DefaultColumnFamily, Bytes("later"), buffer, atSnapshot).Found);
        }

        using (var latest = new RocksDbReadOptions())
        {
            RocksDbGetResult got = db.Get(db.DefaultColumnFamily, Bytes("k"), buffer, latest);
            Assert.Equal("new", Encoding.ASCII.GetString(buffer, 0, got.ValueLengthBytes));
        }

        using RocksDbIterator iterator = db.NewIterator(db.DefaultColumnFamily, snapshot: snapshot);
        Assert.Equal(["k"], Keys(iterator));
    }

    [Fact]
    public void DeleteRange_RemovesHalfOpenRange()
    {
        using RocksDatabase db = OpenDatabase("db");
        using var write = new RocksDbWriteOptions(sync: false);
        foreach (string key in new[] { "a", "b", "c", "d" })
        {
            db.Put(db.DefaultColumnFamily, Bytes(key), Bytes("v"), write);
        }

        Assert.True(db.DeleteRange(db.DefaultColumnFamily, Bytes("b"), Bytes("d"), write).IsOk);
        using (RocksDbIterator iterator = db.NewIterator(db.DefaultColumnFamily))
        {
            Assert.Equal(["a", "d"], Keys(iterator));
        }

        using var batch = new RocksDbWriteBatch();
        batch.DeleteRange(db.DefaultColumnFamily, Bytes("a"), Bytes("b"));
        Assert.True(db.Write(batch, write).IsOk);
        using RocksDbIterator after = db.NewIterator(db.DefaultColumnFamily);
        Assert.Equal(["d"], Keys(after));
    }

    [Fact]
    public void Reopen_KeepsDataAndColumnFamilies()
    {
        using (RocksDatabase db = OpenDatabase("db", "chunks"))
        {
            using var write = new RocksDbWriteOptions(sync: true);
            db.Put(db.GetColumnFamily("chunks")!, Bytes("k"), Bytes("durable"), write);
        }

        using var options = new RocksDbOptions();
        var names = new List<string>();
        Assert.True(RocksDatabase.ListColumnFamilies(directory.Sub("db"), options, names).IsOk);
        Assert.Contains("chunks", names);

        // No extra families named: Open finds "chunks" by listing, as RocksDB requires.
        RocksDbStatus status = RocksDatabase.Open(directory.Sub("db"), options, [], out RocksDatabase? reopened);
        Assert.True(status.IsOk, status.ToString());
        using (reopened)
        {
            byte[] buffer = new byte[16];
            using var read = new RocksDbReadOptions();
            RocksDbGetResult got = reopened!.Get(reopened.GetColumnFamily("chunks")!, Bytes("k"), buffer, read);
            Assert.Equal("durable", Encoding.ASCII.GetString(buffer, 0, got.ValueLengthBytes));
        }
    }

    [Fact]
    public void ColumnFamilies_CreateDropList()
    {
        using RocksDatabase db = OpenDatabase("db");
        using var options = new RocksDbOptions();
        Assert.True(db.CreateColumnFamily("extra", options, out RocksDbColumnFamily? extra).IsOk);
        Assert.Equal(RocksDbErrorKind.InvalidArgument, db.CreateColumnFamily("extra", options, out _).Kind);
        Assert.Contains("extra", db.ColumnFamilyNames());
        using var write = new RocksDbWriteOptions(sync: false);
        Assert.True(db.Put(extra!, Bytes("k"), Bytes("v"), write).IsOk);

        Assert.True(db.DropColumnFamily(extra!).IsOk);
        Assert.DoesNotContain("extra", db.ColumnFamilyNames());
        Assert.Null(db.GetColumnFamily("extra"));
        Assert.Equal(RocksDbErrorKind.InvalidArgument, db.DropColumnFamily(db.DefaultColumnFamily).Kind);
    }

    [Fact]
    public void Flush_WritesSstFile_AndPropertiesAnswer()
    {
        using RocksDatabase db = OpenDatabase("db");
        using var write = new RocksDbWriteOptions(sync: false);
        for (int i = 0; i < 100; i++)
        {
            db.Put(db.DefaultColumnFamily, Bytes($"key{i:D3}"), Bytes("value"), write);
        }

        Assert.True(db.Flush(db.DefaultColumnFamily).IsOk);
        Assert.True(db.FlushWal(sync: true).IsOk);
        Assert.Equal("1", db.GetProperty(db.DefaultColumnFamily, "rocksdb.num-files-at-level0"));
        Assert.Equal("100", db.GetProperty(db.DefaultColumnFamily, "rocksdb.estimate-num-keys"));
        Assert.Null(db.GetProperty(db.DefaultColumnFamily, "rocksdb.no-such-property"));
        Assert.Contains("Compaction Stats", db.GetProperty("rocksdb.stats"));
        Assert.Null(db.GetProperty("rocksdb.no-such-property"));
    }

    [Fact]
    public void Lz4Compression_IsAvailable()
    {
        using var options = new RocksDbOptions().CreateIfMissing(true).Compression(RocksDbCompression.Lz4);
        RocksDbStatus status = RocksDatabase.Open(directory.Sub("lz4"), options, [], out RocksDatabase? db);
        Assert.True(status.IsOk, status.ToString());
        db!.Dispose();
    }

    [Fact]
    public void OpenUnderRegularFile_IsIoErrorValue()
    {
        string file = directory.Sub("plain-file");
        File.WriteAllText(file, "not a directory");
        using var options = new RocksDbOptions().CreateIfMissing(true);
        RocksDbStatus status = RocksDatabase.Open(Path.Combine(file, "db"), options, [], out RocksDatabase? db);
        Assert.Null(db);
        Assert.Equal(RocksDbErrorKind.IoError, status.Kind);
        Assert.Contains("plain-file", status.Message);
    }

    [Fact]
    public void OpenWithMissingParent_IsErrorValue()
    {
        using var options = new RocksDbOptions().CreateIfMissing(true);
        RocksDbStatus status = RocksDatabase.Open("/proc/sds-no-such-dir/db", options, [], out RocksDatabase? db);
        Assert.Null(db);
        Assert.False(status.IsOk);
        Assert.NotNull(status.Message);
    }

    [Fact]
    public void OpenMissingWithoutCreate_IsErrorValue()
    {
        using var options = new RocksDbOptions();
        RocksDbStatus status = RocksDatabase.Open(directory.Sub("absent"), options, [], out RocksDatabase? db);
        Assert.Null(db);
        Assert.Equal(RocksDbErrorKind.InvalidArgument, status.Kind);
    }

    [Fact]
    public void SecondOpenOfSameDirectory_IsLockErrorValue()
    {
        using RocksDatabase first = OpenDatabase("db");
        using var options = new RocksDbOptions().CreateIfMissing(true);
        RocksDbStatus status = RocksDatabase.Open(directory.Sub("db"), options, [], out RocksDatabase? second);
        Assert.Null(second);
        Assert.Equal(RocksDbErrorKind.Locked, status.Kind);
    }

    [Fact]
    public void DisposeWithLiveIterator_DefersClose()
    {
        RocksDatabase db = OpenDatabase("db");
        using var write = new RocksDbWriteOptions(sync: false);
        db.Put(db.DefaultColumnFamily, Bytes("k"), Bytes("v"), write);
        RocksDbIterator iterator = db.NewIterator(db.DefaultColumnFamily);
        db.Dispose();
        // The iterator holds the database open; reading through it is still safe.
        iterator.SeekToFirst();
        Assert.True(iterator.Valid);
        iterator.Dispose();

        // Now the close has run and the directory can be opened again.
        using RocksDatabase reopened = OpenDatabase("db");
    }

    private RocksDatabase OpenDatabase(string name, params string[] columnFamilies)
    {
        using var options = new RocksDbOptions().CreateIfMissing(true).CreateMissingColumnFamilies(true);
        RocksDbStatus status = RocksDatabase.Open(directory.Sub(name), options, columnFamilies, out RocksDatabase? db);
        Assert.True(status.IsOk, status.ToString());
        return db!;
    }

    private static byte[] Bytes(string text) => Encoding.ASCII.GetBytes(text);

    private static List<string> Keys(RocksDbIterator iterator)
    {
        var keys = new List<string>();
        for (iterator.SeekToFirst(); iterator.Valid; iterator.Next())
        {
            keys.Add(Encoding.ASCII.GetString(iterator.Key));
        }

        return keys;
    }
}
