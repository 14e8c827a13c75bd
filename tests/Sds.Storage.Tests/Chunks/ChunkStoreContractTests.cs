using System.Buffers.Binary;
using System.Diagnostics;
using Sds.Storage.Chunks;

namespace Sds.Storage.Tests.Chunks;

/// <summary>
/// The one behaviour every <see cref="IChunkStore"/> must have, run against each implementation
/// through a factory: read-after-write at both block sizes, bad requests rejected as values, UNMAP
/// and extents, WRITE SAME, COMPARE AND WRITE (match, miscompare offset, atomicity under
/// contention), durability across reopen, parallel writers, CRC32C corruption detection and repair,
/// full-disk behaviour on a real tiny tmpfs, and no managed allocation on the read/write path.
/// Data comes from a seeded PRNG so failures reproduce.
/// </summary>
public abstract class ChunkStoreContractTests : IDisposable
{
    private protected const int ChunkSizeBytes = 1024 * 1024;

    private readonly List<IChunkStore> opened = new();

    private protected TemporaryDirectory Directory { get; } = new();

    /// <summary>Bytes of the tmpfs the full-disk test mounts; the store's fixed overhead must fit.</summary>
    private protected virtual int FullDiskTmpfsBytes => 2 * 1024 * 1024;

    public void Dispose()
    {
        foreach (IChunkStore store in opened)
        {
            store.Dispose();
        }

        Directory.Dispose();
    }

    [Theory]
    [InlineData(512)]
    [InlineData(4096)]
    public void ReadAfterWrite_ReturnsWrittenBytes(int blockSize)
    {
        IChunkStore store = Open(blockSize);
        var key = new ChunkKey(Guid.NewGuid(), 3);
        byte[] data = RandomBytes(blockSize * 5, seed: blockSize);
        Assert.Equal(ChunkStatus.Ok, store.Write(key, blockSize * 2L, data));

        byte[] back = new byte[data.Length];
        Assert.Equal(ChunkStatus.Ok, store.Read(key, blockSize * 2L, back, default).Status);
        Assert.Equal(data, back);

        // The blocks around the write were never written and read as zeros.
        byte[] around = new byte[blockSize * 9];
        Assert.Equal(ChunkStatus.Ok, store.Read(key, 0, around, default).Status);
        Assert.All(around.AsSpan(0, blockSize * 2).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(data, around.AsSpan(blockSize * 2, data.Length).ToArray());
        Assert.All(around.AsSpan(blockSize * 7).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void WholeChunk_RoundTrips_AndOverwriteReplaces()
    {
        IChunkStore store = Open(4096);
        var key = new ChunkKey(Guid.NewGuid(), 0);
        byte[] first = RandomBytes(ChunkSizeBytes, seed: 1);
        byte[] second = RandomBytes(8192, seed: 2);
        Assert.Equal(ChunkStatus.Ok, store.Write(key, 0, first));
        Assert.Equal(ChunkStatus.Ok, store.Write(key, ChunkSizeBytes - 8192, second));
        second.CopyTo(first, ChunkSizeBytes - 8192);

        byte[] back = new byte[ChunkSizeBytes];
        Assert.Equal(ChunkStatus.Ok, store.Read(key, 0, back, default).Status);
        Assert.Equal(first, back);
    }

    [Fact]
    public void NeverWrittenChunk_ReadsZeros_AndHasNoExtents()
    {
        IChunkStore store = Open(4096);
        var key = new ChunkKey(Guid.NewGuid(), 42);
        byte[] back = Enumerable.Repeat((byte)0xEE, 8192).ToArray();
        Assert.Equal(ChunkStatus.Ok, store.Read(key, 4096, back, default).Status);
        Assert.All(back, b => Assert.Equal(0, b));

        var extents = new ChunkExtent[4];
        Assert.Equal(ChunkStatus.Ok, store.GetMappedExtents(key, 0, ChunkSizeBytes, extents, out int count));
        Assert.Equal(0, count);
    }

    [Theory]
    [InlineData(-4096L, 4096)] // negative offset
    [InlineData(100L, 4096)] // unaligned offset
    [InlineData(0L, 100)] // unaligned length
    [InlineData(0L, 0)] // empty
    [InlineData(ChunkSizeBytes - 4096L, 8192)] // runs past the chunk
    [InlineData(ChunkSizeBytes, 4096)] // starts at the chunk's end
    [InlineData(long.MaxValue - 4095, 4096)] // overflow bait
    public void BadRanges_AreRejectedAsValues(long offsetBytes, int lengthBytes)
    {
        IChunkStore store = Open(4096);
        var key = new ChunkKey(Guid.NewGuid(), 0);
        byte[] buffer = new byte[lengthBytes];
        byte[] block = new byte[4096];
        Assert.Equal(ChunkStatus.InvalidRange, store.Read(key, offsetBytes, buffer, default).Status);
        Assert.Equal(ChunkStatus.InvalidRange, store.Write(key, offsetBytes, buffer));
        Assert.Equal(ChunkStatus.InvalidRange, store.WriteSame(key, offsetBytes, lengthBytes, block));
        Assert.Equal(ChunkStatus.InvalidRange, store.Unmap(key, offsetBytes, lengthBytes));
        Assert.Equal(ChunkStatus.InvalidRange, store.CompareAndWrite(key, offsetBytes, buffer, buffer).Status);
        Assert.Equal(ChunkStatus.InvalidRange, store.Repair(key, offsetBytes, buffer).Status);
        Assert.Equal(ChunkStatus.InvalidRange, store.GetMappedExtents(key, offsetBytes, lengthBytes, new ChunkExtent[1], out _));

        // Nothing was created by any of the rejected calls.
        var chunks = new List<ChunkKey>();
        Assert.Equal(ChunkStatus.Ok, store.ListChunks(key.VolumeId, chunks));
        Assert.Empty(chunks);
    }

    [Fact]
    public void BadBuffers_AreRejectedAsValues()
    {
        IChunkStore store = Open(4096);
        var key = new ChunkKey(Guid.NewGuid(), 0);
        Assert.Equal(ChunkStatus.InvalidBuffer, store.WriteSame(key, 0, 8192, new byte[512]));
        Assert.Equal(ChunkStatus.InvalidBuffer, store.CompareAndWrite(key, 0, new byte[4096], new byte[8192]).Status);
        Assert.Equal(ChunkStatus.InvalidBuffer, store.GetMappedExtents(key, 0, 4096, Span<ChunkExtent>.Empty, out _));
    }

    [Fact]
    public void Unmap_ReadsZeros_AndExtentsShrink()
    {
        IChunkStore store = Open(4096);
        var key = new ChunkKey(Guid.NewGuid(), 1);
        Assert.Equal(ChunkStatus.Ok, store.Write(key, 0, RandomBytes(4 * 4096, seed: 3)));
        Assert.Equal(ChunkStatus.Ok, store.Write(key, 8 * 4096, RandomBytes(4 * 4096, seed: 4)));
        Assert.Equal([new(0, 4 * 4096), new(8 * 4096, 4 * 4096)], Extents(store, key, 0, ChunkSizeBytes));
        Assert.Equal([new(2 * 4096, 2 * 4096), new(8 * 4096, 2 * 4096)], Extents(store, key, 2 * 4096, 8 * 4096));

        Assert.Equal(ChunkStatus.Ok, store.Unmap(key, 8 * 4096, 4 * 4096));
        Assert.Equal(ChunkStatus.Ok, store.Unmap(key, 0, 2 * 4096));
        Assert.Equal([new(2 * 4096, 2 * 4096)], Extents(store, key, 0, ChunkSizeBytes));

        byte[] back = new byte[12 * 4096];
        Assert.Equal(ChunkStatus.Ok, store.Read(key, 0, back, default).Status);
        Assert.All(back.AsSpan(0, 2 * 4096).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(RandomBytes(4 * 4096, seed: 3).AsSpan(2 * 4096).ToArray(), back.AsSpan(2 * 4096, 2 * 4096).ToArray());
        Assert.All(back.AsSpan(8 * 4096).ToArray(), b => Assert.Equal(0, b));

        // Unmapping a chunk that does not exist is fine and creates nothing.
        Assert.Equal(ChunkStatus.Ok, store.Unmap(new ChunkKey(key.VolumeId, 99), 0, ChunkSizeBytes));
    }

    [Fact]
    public void Extents_ContinueWhenCallerSpanFills()
    {
        IChunkStore store = Open(4096);
        var key = new ChunkKey(Guid.NewGuid(), 0);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(ChunkStatus.Ok, store.Write(key, i * 2 * 4096L, RandomBytes(4096, seed: i)));
        }

        var extents = new ChunkExtent[2];
        Assert.Equal(ChunkStatus.Ok, store.GetMappedExtents(key, 0, ChunkSizeBytes, extents, out int count));
        Assert.Equal(2, count);
        Assert.Equal(new ChunkExtent(2 * 4096, 4096), extents[1]);
        long resume = extents[1].OffsetBytes + extents[1].LengthBytes;
        Assert.Equal(ChunkStatus.Ok, store.GetMappedExtents(key, resume, (int)(ChunkSizeBytes - resume), extents, out count));
        Assert.Equal(2, count);
        Assert.Equal(new ChunkExtent(4 * 4096, 4096), extents[0]);
    }

    [Theory]
    [InlineData(512)]
    [InlineData(4096)]
    public void WriteSame_FillsEveryBlock(int blockSize)
    {
        IChunkStore store = Open(blockSize);
        var key = new ChunkKey(Guid.NewGuid(), 7);
        byte[] pattern = RandomBytes(blockSize, seed: 5);
        // Longer than the file store's staging buffer, so the repeat crosses pieces.
        int lengthBytes = 512 * 1024 + (blockSize * 3);
        Assert.Equal(ChunkStatus.Ok, store.WriteSame(key, blockSize, lengthBytes, pattern));

        byte[] back = new byte[lengthBytes + (2 * blockSize)];
        Assert.Equal(ChunkStatus.Ok, store.Read(key, 0, back, default).Status);
        Assert.All(back.AsSpan(0, blockSize).ToArray(), b => Assert.Equal(0, b));
        for (int offset = blockSize; offset < lengthBytes + blockSize; offset += blockSize)
        {
            Assert.True(back.AsSpan(offset, blockSize).SequenceEqual(pattern), $"block at {offset} holds the pattern");
        }

        Assert.All(back.AsSpan(lengthBytes + blockSize).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void CompareAndWrite_WritesOnMatch_AndReportsFirstMismatch()
    {
        IChunkStore store = Open(512);
        var key = new ChunkKey(Guid.NewGuid(), 0);
        byte[] original = RandomBytes(2048, seed: 6);
        byte[] replacement = RandomBytes(2048, seed: 7);
        Assert.Equal(ChunkStatus.Ok, store.Write(key, 1024, original));

        byte[] wrongGuess = (byte[])original.Clone();
        wrongGuess[1500] ^= 0x01;
        CompareAndWriteResult miss = store.CompareAndWrite(key, 1024, wrongGuess, replacement);
        Assert.Equal(ChunkStatus.Miscompare, miss.Status);
        Assert.Equal(1500, miss.MiscompareOffsetBytes);
        byte[] back = new byte[2048];
        store.Read(key, 1024, back, default);
        Assert.Equal(original, back);

        CompareAndWriteResult hit = store.CompareAndWrite(key, 1024, original, replacement);
        Assert.Equal(ChunkStatus.Ok, hit.Status);
        Assert.Equal(-1, hit.MiscompareOffsetBytes);
        store.Read(key, 1024, back, default);
        Assert.Equal(replacement, back);

        // Against a never-written range the current contents are zeros.
        Assert.Equal(ChunkStatus.Ok, store.CompareAndWrite(key, 8192, new byte[512], replacement.AsSpan(0, 512)).Status);
    }

    [Fact]
    public void Reopen_KeepsDataExtentsAndChunkList()
    {
        var key = new ChunkKey(Guid.NewGuid(), 5);
        var other = new ChunkKey(key.VolumeId, 6);
        byte[] data = RandomBytes(16384, seed: 8);
        IChunkStore store = Open(4096, "persist");
        Assert.Equal(ChunkStatus.Ok, store.Write(key, 4096, data));
        Assert.Equal(ChunkStatus.Ok, store.Write(other, 0, data));
        Assert.Equal(ChunkStatus.Ok, store.Unmap(other, 0, 8192));
        Assert.Equal(ChunkStatus.Ok, store.Flush());
        Close(store);
        Assert.Equal(ChunkStatus.Closed, store.Read(key, 0, new byte[4096], default).Status);
        Assert.Equal(ChunkStatus.Closed, store.Flush());

        IChunkStore reopened = Open(4096, "persist");
        byte[] back = new byte[data.Length];
        Assert.Equal(ChunkStatus.Ok, reopened.Read(key, 4096, back, default).Status);
        Assert.Equal(data, back);
        Assert.Equal(ChunkStatus.Ok, reopened.Read(other, 0, back, default).Status);
        Assert.All(back.AsSpan(0, 8192).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(data.AsSpan(8192).ToArray(), back.AsSpan(8192).ToArray());
        Assert.Equal([new(4096, 16384)], Extents(reopened, key, 0, ChunkSizeBytes));

        var chunks = new List<ChunkKey>();
        Assert.Equal(ChunkStatus.Ok, reopened.ListChunks(key.VolumeId, chunks));
        Assert.Equal([key, other], chunks.OrderBy(c => c.ChunkIndex));
    }

    [Fact]
    public void SecondOpen_AndOtherGeometry_AreUnavailable()
    {
        IChunkStore store = Open(4096, "exclusive");
        Assert.Equal(ChunkStatus.Unavailable, OpenStore(Directory.Sub("exclusive"), new ChunkGeometry(ChunkSizeBytes, 4096), out IChunkStore? second));
        Assert.Null(second);
        Close(store);

        Assert.Equal(ChunkStatus.Unavailable, OpenStore(Directory.Sub("exclusive"), new ChunkGeometry(ChunkSizeBytes, 512), out IChunkStore? wrong));
        Assert.Null(wrong);
        Assert.Equal(ChunkStatus.Ok, OpenStore(Directory.Sub("exclusive"), new ChunkGeometry(ChunkSizeBytes, 4096), out IChunkStore? again));
        opened.Add(again!);
    }

    [Fact]
    public void DeleteAndList_ByVolume()
    {
        IChunkStore store = Open(4096);
        // Fixed ids with A before B in key order: listing must carry on past A's chunk 2^64-1.
        Guid volumeA = Guid.Parse("11111111-1111-1111-1111-111111111111");
        Guid volumeB = Guid.Parse("22222222-2222-2222-2222-222222222222");
        foreach (ulong index in new ulong[] { 0, 1, ulong.MaxValue })
        {
            Assert.Equal(ChunkStatus.Ok, store.Write(new ChunkKey(volumeA, index), 0, RandomBytes(4096, seed: 9)));
        }

        Assert.Equal(ChunkStatus.Ok, store.Write(new ChunkKey(volumeB, 1), ChunkSizeBytes - 4096, RandomBytes(4096, seed: 10)));
        var chunks = new List<ChunkKey>();
        Assert.Equal(ChunkStatus.Ok, store.ListChunks(volumeA, chunks));
        Assert.Equal(3, chunks.Count);
        chunks.Clear();
        Assert.Equal(ChunkStatus.Ok, store.ListChunks(null, chunks));
        Assert.Equal(4, chunks.Count);

        Assert.Equal(ChunkStatus.Ok, store.DeleteChunk(new ChunkKey(volumeA, 1)));
        Assert.Equal(ChunkStatus.Ok, store.DeleteChunk(new ChunkKey(volumeA, 77)));
        chunks.Clear();
        store.ListChunks(volumeA, chunks);
        Assert.Equal([0UL, ulong.MaxValue], chunks.Select(c => c.ChunkIndex).Order());
        byte[] back = new byte[4096];
        Assert.Equal(ChunkStatus.Ok, store.Read(new ChunkKey(volumeA, 1), 0, back, default).Status);
        Assert.All(back, b => Assert.Equal(0, b));

        // A deleted chunk can be written again.
        Assert.Equal(ChunkStatus.Ok, store.Write(new ChunkKey(volumeA, 1), 4096, RandomBytes(4096, seed: 11)));
        Assert.Equal(ChunkStatus.Ok, store.Read(new ChunkKey(volumeA, 1), 4096, back, default).Status);
        Assert.Equal(RandomBytes(4096, seed: 11), back);
    }

    [Fact]
    public void ParallelWriters_ToDifferentChunks_AllLand()
    {
        IChunkStore store = Open(4096);
        Guid volume = Guid.NewGuid();
        const int writers = 8;
        const int writesPerWriter = 64;
        Parallel.For(0, writers, new ParallelOptions { MaxDegreeOfParallelism = writers }, writer =>
        {
            var key = new ChunkKey(volume, (ulong)writer);
            for (int i = 0; i < writesPerWriter; i++)
            {
                byte[] data = RandomBytes(8192, seed: (writer * 1000) + i);
                Assert.Equal(ChunkStatus.Ok, store.Write(key, i * 8192L, data));
            }
        });

        byte[] back = new byte[8192];
        for (int writer = 0; writer < writers; writer++)
        {
            for (int i = 0; i < writesPerWriter; i++)
            {
                Assert.Equal(ChunkStatus.Ok, store.Read(new ChunkKey(volume, (ulong)writer), i * 8192L, back, default).Status);
                Assert.Equal(RandomBytes(8192, seed: (writer * 1000) + i), back);
            }
        }
    }

    [Fact]
    public void CompareAndWrite_IsAtomicUnderContention()
    {
        // Each thread increments a counter kept in one block by read → COMPARE AND WRITE, retrying
        // on miscompare. Any lost update (two threads both "winning" from the same old value) shows
        // up as a final count below the number of successful compare-and-writes.
        IChunkStore store = Open(512);
        var key = new ChunkKey(Guid.NewGuid(), 0);
        const int threads = 4;
        const int incrementsPerThread = 150;
        int attemptsMax = threads * incrementsPerThread * 50;
        int attempts = 0;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
        {
            byte[] current = new byte[512];
            byte[] next = new byte[512];
            for (int done = 0; done < incrementsPerThread;)
            {
                Assert.True(Interlocked.Increment(ref attempts) < attemptsMax, "contention loop is bounded");
                Assert.Equal(ChunkStatus.Ok, store.Read(key, 0, current, default).Status);
                current.CopyTo(next, 0);
                BinaryPrimitives.WriteUInt64LittleEndian(next, BinaryPrimitives.ReadUInt64LittleEndian(current) + 1);
                CompareAndWriteResult result = store.CompareAndWrite(key, 0, current, next);
                if (result.Status == ChunkStatus.Ok)
                {
                    done++;
                    continue;
                }

                Assert.Equal(ChunkStatus.Miscompare, result.Status);
                Assert.InRange(result.MiscompareOffsetBytes, 0, 7);
            }
        });

        byte[] final = new byte[512];
        Assert.Equal(ChunkStatus.Ok, store.Read(key, 0, final, default).Status);
        Assert.Equal((ulong)(threads * incrementsPerThread), BinaryPrimitives.ReadUInt64LittleEndian(final));
    }

    [Fact]
    public void MixedOperations_UnderContention_NeverTearOrFailChecksums()
    {
        // Four threads run seeded random writes, WRITE SAMEs, UNMAPs, COMPARE AND WRITEs and reads
        // over the same two chunks. Every block ever written is uniform (all bytes equal), so a read
        // that sees a torn block, or data paired with another write's checksum, fails here.
        IChunkStore store = Open(512);
        Guid volume = Guid.NewGuid();
        const int threads = 4;
        const int operationsPerThread = 400;
        const int spanBlocks = 64;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, thread =>
        {
            var random = new Random(500 + thread);
            byte[] buffer = new byte[16 * 512];
            byte[] expected = new byte[16 * 512];
            for (int i = 0; i < operationsPerThread; i++)
            {
                var key = new ChunkKey(volume, (ulong)random.Next(2));
                int blocks = random.Next(1, 17);
                long offset = random.Next(spanBlocks - blocks + 1) * 512L;
                Span<byte> range = buffer.AsSpan(0, blocks * 512);
                byte fill = (byte)random.Next(1, 256);
                ChunkStatus status = random.Next(5) switch
                {
                    0 => Fill(store, key, offset, range, fill),
                    1 => store.WriteSame(key, offset, range.Length, Uniform(buffer.AsSpan(0, 512), fill)),
                    2 => store.Unmap(key, offset, range.Length),
                    3 => CompareAndWriteOnce(store, key, offset, range, expected.AsSpan(0, range.Length), fill),
                    _ => ReadUniform(store, key, offset, range),
                };
                Assert.True(status is ChunkStatus.Ok or ChunkStatus.Miscompare, $"operation {i} of thread {thread}: {status}");
            }
        });

        // Afterwards the extents agree with the data: every block outside them reads as zeros.
        for (ulong chunk = 0; chunk < 2; chunk++)
        {
            var key = new ChunkKey(volume, chunk);
            byte[] data = new byte[spanBlocks * 512];
            Assert.Equal(ChunkStatus.Ok, store.Read(key, 0, data, default).Status);
            var mapped = new bool[spanBlocks];
            foreach (ChunkExtent extent in Extents(store, key, 0, spanBlocks * 512))
            {
                for (long offset = extent.OffsetBytes; offset < extent.OffsetBytes + extent.LengthBytes; offset += 512)
                {
                    mapped[offset / 512] = true;
                }
            }

            for (int block = 0; block < spanBlocks; block++)
            {
                Assert.True(mapped[block] || data.AsSpan(block * 512, 512).IndexOfAnyExcept((byte)0) < 0, $"unmapped block {block} of chunk {chunk} holds data");
            }
        }
    }

    [Theory]
    [InlineData(512)]
    [InlineData(4096)]
    public void Corruption_IsReportedPerBlock_AndRepairFixesIt(int blockSize)
    {
        IChunkStore store = Open(blockSize, "corrupt");
        var key = new ChunkKey(Guid.NewGuid(), 2);
        byte[] data = RandomBytes(8 * blockSize, seed: 12);
        Assert.Equal(ChunkStatus.Ok, store.Write(key, 0, data));
        Assert.Equal(ChunkStatus.Ok, store.Flush());
        DamageBlock(store, Directory.Sub("corrupt"), key, 2);
        DamageBlock(store, Directory.Sub("corrupt"), key, 5);

        byte[] back = new byte[data.Length];
        int[] bad = new int[8];
        ChunkReadResult read = store.Read(key, 0, back, bad);
        Assert.Equal(ChunkStatus.Corrupt, read.Status);
        Assert.Equal(2, read.CorruptBlockCount);
        Assert.Equal(2, read.FirstCorruptBlock);
        Assert.Equal([2, 5], bad.Take(2));

        // A read that avoids the bad blocks is clean; COMPARE AND WRITE over one refuses to write.
        Assert.Equal(ChunkStatus.Ok, store.Read(key, 3L * blockSize, back.AsSpan(0, 2 * blockSize), default).Status);
        CompareAndWriteResult compare = store.CompareAndWrite(
            key, 5L * blockSize, data.AsSpan(5 * blockSize, blockSize), new byte[blockSize]);
        Assert.Equal(ChunkStatus.Corrupt, compare.Status);
        Assert.Equal(5, compare.Read.FirstCorruptBlock);

        // Repair with the known-good bytes (as a replica would send them).
        Assert.Equal(ChunkStatus.Ok, store.Repair(key, 2L * blockSize, data.AsSpan(2 * blockSize, blockSize)).Status);
        Assert.Equal(ChunkStatus.Ok, store.Repair(key, 5L * blockSize, data.AsSpan(5 * blockSize, blockSize)).Status);
        Assert.Equal(ChunkStatus.Ok, store.Read(key, 0, back, default).Status);
        Assert.Equal(data, back);
    }

    [Fact]
    public void FullDisk_ReturnsNoSpace_AndKeepsAcknowledgedData()
    {
        // A real ENOSPC from a tiny tmpfs (needs root; skipped with a note where mount is refused).
        string mountPoint = Directory.Sub("tmpfs");
        System.IO.Directory.CreateDirectory(mountPoint);
        if (!RunMount($"-t tmpfs -o size={FullDiskTmpfsBytes} tmpfs {mountPoint}"))
        {
            // Without CAP_SYS_ADMIN there is no cheap real ENOSPC; SDS_REQUIRE_TMPFS=1 makes that a failure.
            Assert.True(Environment.GetEnvironmentVariable("SDS_REQUIRE_TMPFS") != "1", "tmpfs mount refused");
            return;
        }

        try
        {
            Assert.Equal(ChunkStatus.Ok, OpenStore(Path.Combine(mountPoint, "store"), new ChunkGeometry(ChunkSizeBytes, 4096), out IChunkStore? store));
            using (store)
            {
                FillUntilFull(store!);
            }
        }
        finally
        {
            Assert.True(RunUmount(mountPoint), "tmpfs unmounted");
        }
    }

    [Fact]
    public void ReadAndWrite_AllocateNothing_AfterWarmUp()
    {
        // STYLE.md budget: the steady-state data path allocates no managed memory.
        IChunkStore store = Open(4096);
        var key = new ChunkKey(Guid.NewGuid(), 0);
        byte[] data = RandomBytes(4096, seed: 13);
        byte[] back = new byte[4096];
        for (int i = 0; i < 200; i++)
        {
            store.Write(key, (i % 16) * 4096L, data);
            store.Read(key, (i % 16) * 4096L, back, default);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 2000; i++)
        {
            store.Write(key, (i % 16) * 4096L, data);
            store.Read(key, (i % 16) * 4096L, back, default);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>Opens a store of this implementation in <paramref name="path"/>.</summary>
    internal abstract ChunkStatus OpenStore(string path, ChunkGeometry geometry, out IChunkStore? store);

    /// <summary>Damages one block's stored bytes behind the store's back.</summary>
    internal abstract void DamageBlock(IChunkStore store, string path, ChunkKey key, int blockIndex);

    private protected IChunkStore Open(int blockSize, string name = "store")
    {
        ChunkStatus status = OpenStore(Directory.Sub(name), new ChunkGeometry(ChunkSizeBytes, blockSize), out IChunkStore? store);
        Assert.Equal(ChunkStatus.Ok, status);
        opened.Add(store!);
        return store!;
    }

    private protected void Close(IChunkStore store)
    {
        store.Dispose();
        opened.Remove(store);
    }

    private protected static byte[] RandomBytes(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static ReadOnlySpan<byte> Uniform(Span<byte> block, byte fill)
    {
        block.Fill(fill);
        return block;
    }

    private static ChunkStatus Fill(IChunkStore store, ChunkKey key, long offset, Span<byte> range, byte fill)
    {
        // Each block uniform, neighbouring blocks different, so a torn multi-block write is visible too.
        for (int block = 0; block < range.Length / 512; block++)
        {
            range.Slice(block * 512, 512).Fill((byte)(fill + block));
        }

        return store.Write(key, offset, range);
    }

    private static ChunkStatus CompareAndWriteOnce(IChunkStore store, ChunkKey key, long offset, Span<byte> range, Span<byte> current, byte fill)
    {
        ChunkStatus read = ReadUniform(store, key, offset, current);
        if (read != ChunkStatus.Ok)
        {
            return read;
        }

        range.Fill(fill);
        return store.CompareAndWrite(key, offset, current, range).Status;
    }

    private static ChunkStatus ReadUniform(IChunkStore store, ChunkKey key, long offset, Span<byte> range)
    {
        ChunkReadResult read = store.Read(key, offset, range, default);
        if (read.Status != ChunkStatus.Ok)
        {
            return read.Status;
        }

        for (int block = 0; block < range.Length / 512; block++)
        {
            Span<byte> bytes = range.Slice(block * 512, 512);
            Assert.True(bytes.IndexOfAnyExcept(bytes[0]) < 0, $"block {(offset / 512) + block} is torn");
        }

        return ChunkStatus.Ok;
    }

    private static List<ChunkExtent> Extents(IChunkStore store, ChunkKey key, long offsetBytes, int lengthBytes)
    {
        var extents = new ChunkExtent[64];
        Assert.Equal(ChunkStatus.Ok, store.GetMappedExtents(key, offsetBytes, lengthBytes, extents, out int count));
        return extents.Take(count).ToList();
    }

    private static void FillUntilFull(IChunkStore store)
    {
        Guid volume = Guid.NewGuid();
        const int pieceBytes = 64 * 1024;
        var acknowledged = new List<(ChunkKey Key, long Offset, int Seed)>();
        ChunkStatus last = ChunkStatus.Ok;
        ChunkKey failedKey = default;
        long failedOffset = 0;
        // Bounded: the tmpfs is a few MiB, so far fewer than 1024 pieces fit.
        for (int i = 0; i < 1024 && last == ChunkStatus.Ok; i++)
        {
            var key = new ChunkKey(volume, (ulong)(i / (ChunkSizeBytes / pieceBytes)));
            long offset = (long)(i % (ChunkSizeBytes / pieceBytes)) * pieceBytes;
            last = store.Write(key, offset, RandomBytes(pieceBytes, seed: 100 + i));
            if (last == ChunkStatus.Ok)
            {
                acknowledged.Add((key, offset, 100 + i));
            }
            else
            {
                failedKey = key;
                failedOffset = offset;
            }
        }

        Assert.Equal(ChunkStatus.NoSpace, last);
        Assert.NotEmpty(acknowledged);

        // Every acknowledged write reads back intact; the refused one left its range untouched.
        byte[] back = new byte[pieceBytes];
        foreach ((ChunkKey key, long offset, int seed) in acknowledged)
        {
            Assert.Equal(ChunkStatus.Ok, store.Read(key, offset, back, default).Status);
            Assert.Equal(RandomBytes(pieceBytes, seed), back);
        }

        Assert.Equal(ChunkStatus.Ok, store.Read(failedKey, failedOffset, back, default).Status);
        Assert.All(back, b => Assert.Equal(0, b));
    }

    private static bool RunMount(string arguments) => Run("mount", arguments);

    private static bool RunUmount(string mountPoint) => Run("umount", mountPoint);

    private static bool Run(string program, string arguments)
    {
        try
        {
            using Process? process = Process.Start(new ProcessStartInfo(program, arguments)
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            });
            if (process is null)
            {
                return false;
            }

            process.WaitForExit(10_000);
            return process.HasExited && process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
