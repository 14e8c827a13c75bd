using System.Buffers.Binary;
using Sds.Storage.Chunks;
using Sds.Storage.RocksDb;

namespace Sds.Storage.Tests.Chunks;

/// <summary>
/// Runs the shared chunk-store contract against <see cref="RocksDbChunkStore"/>; damage is done by
/// overwriting a block's value with different data that keeps the old checksum, and by storing a
/// value of the wrong size, through the store's own database handle.
/// </summary>
public sealed class RocksDbChunkStoreTests : ChunkStoreContractTests
{
    // RocksDB needs room for its WAL, MANIFEST and OPTIONS files before any block fits.
    private protected override int FullDiskTmpfsBytes => 6 * 1024 * 1024;

    internal override ChunkStatus OpenStore(string path, ChunkGeometry geometry, out IChunkStore? store)
    {
        // A small reserve so the full-disk test's few-MiB tmpfs still takes some writes.
        ChunkStatus status = RocksDbChunkStore.Open(
            path, geometry, syncWrites: false, out RocksDbChunkStore? rocksStore, out _, freeSpaceReserveBytes: 1024 * 1024);
        store = rocksStore;
        return status;
    }

    internal override void DamageBlock(IChunkStore store, string path, ChunkKey key, int blockIndex)
    {
        var rocks = (RocksDbChunkStore)store;
        int blockSize = store.Geometry.BlockSizeBytes;
        byte[] blockKey = new byte[RocksDbChunkKeys.KeyBytes];
        RocksDbChunkKeys.Write(blockKey, key, (uint)blockIndex);
        byte[] value = new byte[sizeof(uint) + blockSize];
        using var read = new RocksDbReadOptions();
        Assert.True(rocks.Database.Get(rocks.Chunks, blockKey, value, read).Found);
        value[sizeof(uint) + 17] ^= 0x5A;
        using var write = new RocksDbWriteOptions(sync: false);
        Assert.True(rocks.Database.Put(rocks.Chunks, blockKey, value, write).IsOk);
    }

    [Fact]
    public void MalformedValue_IsReportedAsCorrupt()
    {
        IChunkStore store = Open(4096);
        var rocks = (RocksDbChunkStore)store;
        var key = new ChunkKey(Guid.NewGuid(), 0);
        byte[] blockKey = new byte[RocksDbChunkKeys.KeyBytes];
        RocksDbChunkKeys.Write(blockKey, key, 1);
        using var write = new RocksDbWriteOptions(sync: false);
        Assert.True(rocks.Database.Put(rocks.Chunks, blockKey, new byte[10], write).IsOk);

        ChunkReadResult read = store.Read(key, 0, new byte[3 * 4096], default);
        Assert.Equal(ChunkStatus.Corrupt, read.Status);
        Assert.Equal(1, read.FirstCorruptBlock);
        Assert.Equal(1, read.CorruptBlockCount);
    }

    [Fact]
    public void Keys_SortByVolumeChunkBlock()
    {
        var key = new ChunkKey(Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"), 0x0102030405060708);
        byte[] encoded = new byte[RocksDbChunkKeys.KeyBytes];
        RocksDbChunkKeys.Write(encoded, key, 0x0A0B0C0D);
        Assert.Equal(Convert.FromHexString("00112233445566778899AABBCCDDEEFF"), encoded[..16]);
        Assert.Equal(0x0102030405060708UL, BinaryPrimitives.ReadUInt64BigEndian(encoded.AsSpan(16)));
        Assert.Equal(0x0A0B0C0Du, BinaryPrimitives.ReadUInt32BigEndian(encoded.AsSpan(24)));
        Assert.True(RocksDbChunkKeys.TryRead(encoded, out ChunkKey back, out uint block));
        Assert.Equal(key, back);
        Assert.Equal(0x0A0B0C0Du, block);

        byte[] nextBlock = new byte[RocksDbChunkKeys.KeyBytes];
        byte[] nextChunk = new byte[RocksDbChunkKeys.KeyBytes];
        RocksDbChunkKeys.Write(nextBlock, key, 0x0A0B0C0E);
        RocksDbChunkKeys.Write(nextChunk, key with { ChunkIndex = key.ChunkIndex + 1 }, 0);
        Assert.True(encoded.AsSpan().SequenceCompareTo(nextBlock) < 0);
        Assert.True(nextBlock.AsSpan().SequenceCompareTo(nextChunk) < 0);
    }

    [Fact]
    public void SyncedWrites_RoundTripAndSurviveReopen()
    {
        string path = Directory.Sub("synced");
        var geometry = new ChunkGeometry(ChunkSizeBytes, 4096);
        var key = new ChunkKey(Guid.NewGuid(), 9);
        byte[] data = RandomBytes(3 * 4096, seed: 21);
        Assert.Equal(ChunkStatus.Ok, RocksDbChunkStore.Open(path, geometry, syncWrites: true, out RocksDbChunkStore? store, out _));
        using (store)
        {
            Assert.Equal(ChunkStatus.Ok, store!.Write(key, 4096, data));
            Assert.Equal(ChunkStatus.Ok, store.Flush());
        }

        Assert.Equal(ChunkStatus.Ok, RocksDbChunkStore.Open(path, geometry, syncWrites: true, out RocksDbChunkStore? reopened, out _));
        using (reopened)
        {
            byte[] back = new byte[data.Length];
            Assert.Equal(ChunkStatus.Ok, reopened!.Read(key, 4096, back, default).Status);
            Assert.Equal(data, back);
        }
    }

    [Fact]
    public void OpenUnderRegularFile_IsIoErrorValue()
    {
        string file = Directory.Sub("plain-file");
        File.WriteAllText(file, "x");
        ChunkStatus status = RocksDbChunkStore.Open(
            Path.Combine(file, "store"), new ChunkGeometry(ChunkSizeBytes, 4096), syncWrites: true, out RocksDbChunkStore? store, out RocksDbStatus detail);
        Assert.Equal(ChunkStatus.IoError, status);
        Assert.Null(store);
        Assert.Equal(RocksDbErrorKind.IoError, detail.Kind);
    }
}
