using Sds.Storage.Chunks;

namespace Sds.Storage.Tests.Chunks;

/// <summary>
/// Runs the shared chunk-store contract against <see cref="FileChunkStore"/>; damage is done by
/// flipping bytes in the chunk's data file through a separate handle, as a bad disk sector would.
/// </summary>
public sealed class FileChunkStoreTests : ChunkStoreContractTests
{
    internal override ChunkStatus OpenStore(string path, ChunkGeometry geometry, out IChunkStore? store)
    {
        ChunkStatus status = FileChunkStore.Open(path, geometry, out FileChunkStore? fileStore);
        store = fileStore;
        return status;
    }

    internal override void DamageBlock(IChunkStore store, string path, ChunkKey key, int blockIndex)
    {
        string dataPath = ((FileChunkStore)store).DataPath(key);
        using FileStream file = File.Open(dataPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        long offset = ((long)blockIndex * store.Geometry.BlockSizeBytes) + 17;
        file.Position = offset;
        int original = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(original ^ 0x5A));
    }

    [Fact]
    public void ChunkFiles_AreSparse_AndUnmapPunchesHoles()
    {
        IChunkStore store = Open(4096);
        var key = new ChunkKey(Guid.NewGuid(), 0);
        Assert.Equal(ChunkStatus.Ok, store.Write(key, 0, RandomBytes(256 * 1024, seed: 1)));
        string dataPath = ((FileChunkStore)store).DataPath(key);
        Assert.Equal(ChunkSizeBytes, new FileInfo(dataPath).Length);
        Assert.InRange(AllocatedBytes(dataPath), 256 * 1024, 300 * 1024);

        Assert.Equal(ChunkStatus.Ok, store.Unmap(key, 0, 128 * 1024));
        Assert.InRange(AllocatedBytes(dataPath), 128 * 1024, 150 * 1024);
        Assert.Equal(ChunkSizeBytes, new FileInfo(dataPath).Length);
    }

    [Fact]
    public void SmallHandleCache_EvictsAndReopensChunks()
    {
        // Two open chunks at most: writing eight chunks round-robin forces eviction (with its sync
        // of dirty files) and reopening (with its allocation scan) on nearly every call.
        Assert.Equal(ChunkStatus.Ok, FileChunkStore.Open(Directory.Sub("small"), new ChunkGeometry(ChunkSizeBytes, 4096), out FileChunkStore? store, openChunksMax: 2));
        using (store)
        {
            Guid volume = Guid.NewGuid();
            for (int round = 0; round < 3; round++)
            {
                for (int chunk = 0; chunk < 8; chunk++)
                {
                    Assert.Equal(ChunkStatus.Ok, store!.Write(new ChunkKey(volume, (ulong)chunk), round * 4096L, RandomBytes(4096, seed: (round * 8) + chunk)));
                }
            }

            Assert.Equal(ChunkStatus.Ok, store!.Flush());
            byte[] back = new byte[4096];
            for (int round = 0; round < 3; round++)
            {
                for (int chunk = 0; chunk < 8; chunk++)
                {
                    Assert.Equal(ChunkStatus.Ok, store.Read(new ChunkKey(volume, (ulong)chunk), round * 4096L, back, default).Status);
                    Assert.Equal(RandomBytes(4096, seed: (round * 8) + chunk), back);
                }
            }
        }
    }

    [Fact]
    public void OpenUnderRegularFile_IsIoErrorValue()
    {
        string file = Directory.Sub("plain-file");
        File.WriteAllText(file, "x");
        Assert.Equal(ChunkStatus.IoError, FileChunkStore.Open(Path.Combine(file, "store"), new ChunkGeometry(ChunkSizeBytes, 4096), out FileChunkStore? store));
        Assert.Null(store);
    }

    private static long AllocatedBytes(string path)
    {
        // stat's block count is in 512-byte units regardless of the file system's block size.
        var info = new System.Diagnostics.ProcessStartInfo("stat", $"-c %b \"{path}\"") { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return long.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;
    }
}
