using Sds.Gateway.Block;

namespace Sds.Conformance.Tests.Cluster;

/// <summary>
/// The cluster block device against three real <c>sds storage</c> processes (replicas = 3, static placement):
/// requests split at chunk boundaries round-trip byte for byte; UNMAP, WRITE SAME, COMPARE AND WRITE and GET
/// LBA STATUS behave as SBC-3 asks; a chunk-crossing COMPARE AND WRITE is refused. The destructive cases
/// (leader killed, node stopped) are in <see cref="ClusterBlockDeviceFaultTests"/>, each with its own cluster.
/// </summary>
public sealed class ClusterBlockDeviceTests : IClassFixture<StorageCluster>
{
    private const int Block = 4096;
    private const long Chunk = ClusterBlockDevice.ChunkSizeBytesDefault;
    private readonly StorageCluster cluster;

    public ClusterBlockDeviceTests(StorageCluster cluster) => this.cluster = cluster;

    private ClusterBlockDevice NewDevice(long size = 64 * Chunk) => new(cluster.Client, Guid.NewGuid(), size, Block);

    [Fact]
    public async Task ReadAndWriteRoundTripAcrossChunkBoundaries()
    {
        // A 9 MiB write starting 64 KiB before the first boundary touches four chunks (three boundaries);
        // reading it back in one request and in unaligned-to-chunk slices must give the same bytes.
        using ClusterBlockDevice device = NewDevice();
        byte[] data = Pattern(9 * 1024 * 1024, seed: 7);
        long offset = Chunk - 64 * 1024;
        Assert.Equal(BlockResult.Ok, await device.WriteAsync(offset, data, forceUnitAccess: false, default));
        byte[] back = new byte[data.Length];
        Assert.Equal(BlockResult.Ok, await device.ReadAsync(offset, back, default));
        Assert.True(data.AsSpan().SequenceEqual(back), "whole read matches");
        byte[] slice = new byte[128 * 1024];
        Assert.Equal(BlockResult.Ok, await device.ReadAsync(2 * Chunk - 64 * 1024, slice, default));
        Assert.True(data.AsSpan((int)Chunk, slice.Length).SequenceEqual(slice), "a read across one boundary matches");
        byte[] unwritten = new byte[2 * Block];
        Assert.Equal(BlockResult.Ok, await device.ReadAsync(40 * Chunk, unwritten, default));
        Assert.All(unwritten, b => Assert.Equal(0, b));
        Assert.Equal(BlockResult.OutOfRange, await device.ReadAsync(device.SizeBytes, new byte[Block], default));
    }

    [Fact]
    public async Task UnmapAndWriteSameSpanChunksAndGetLbaStatusReportsThem()
    {
        using ClusterBlockDevice device = NewDevice();
        byte[] ones = Pattern(Block, seed: 3);
        long offset = 3 * Chunk - 8 * Block;
        // WRITE SAME over 16 blocks across a boundary: every block holds the pattern.
        Assert.Equal(BlockResult.Ok, await device.WriteSameAsync(offset, 16 * Block, ones, deallocate: false, default));
        byte[] back = new byte[16 * Block];
        Assert.Equal(BlockResult.Ok, await device.ReadAsync(offset, back, default));
        for (int i = 0; i < 16; i++) Assert.True(back.AsSpan(i * Block, Block).SequenceEqual(ones), $"block {i} holds the pattern");
        ProvisioningStatus mapped = await device.GetProvisioningStatusAsync(offset, 16 * Block, default);
        Assert.Equal(BlockResult.Ok, mapped.Result);
        Assert.True(mapped.Mapped);
        Assert.Equal(8 * Block, mapped.LengthBytes); // the run ends at the chunk boundary
        // UNMAP the middle 8 blocks (4 each side of the boundary): they read as zeros and report deallocated.
        Assert.Equal(BlockResult.Ok, await device.UnmapAsync(offset + 4 * Block, 8 * Block, default));
        Assert.Equal(BlockResult.Ok, await device.ReadAsync(offset, back, default));
        Assert.True(back.AsSpan(0, 4 * Block).SequenceEqual(Repeat(ones, 4)), "blocks before the unmapped range are kept");
        Assert.All(back.AsSpan(4 * Block, 8 * Block).ToArray(), b => Assert.Equal(0, b));
        Assert.True(back.AsSpan(12 * Block, 4 * Block).SequenceEqual(Repeat(ones, 4)), "blocks after the unmapped range are kept");
        ProvisioningStatus hole = await device.GetProvisioningStatusAsync(offset + 4 * Block, 8 * Block, default);
        Assert.Equal(BlockResult.Ok, hole.Result);
        Assert.False(hole.Mapped);
        Assert.Equal(4 * Block, hole.LengthBytes);
        ProvisioningStatus never = await device.GetProvisioningStatusAsync(50 * Chunk, 4 * Block, default);
        Assert.Equal(BlockResult.Ok, never.Result);
        Assert.False(never.Mapped);
        // WRITE SAME of zeros with UNMAP deallocates and reads back zeros.
        Assert.Equal(BlockResult.Ok, await device.WriteSameAsync(offset, 4 * Block, new byte[Block], deallocate: true, default));
        Assert.Equal(BlockResult.Ok, await device.ReadAsync(offset, back.AsMemory(0, 4 * Block), default));
        Assert.All(back.AsSpan(0, 4 * Block).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task CompareAndWriteSwapsOnMatchReportsMiscompareAndRefusesToCrossAChunk()
    {
        using ClusterBlockDevice device = NewDevice();
        byte[] old = Pattern(2 * Block, seed: 11);
        byte[] replacement = Pattern(2 * Block, seed: 12);
        long offset = 5 * Chunk + 16 * Block;
        Assert.Equal(BlockResult.Ok, await device.WriteAsync(offset, old, false, default));
        CompareAndWriteResult swapped = await device.CompareAndWriteAsync(offset, old, replacement, false, default);
        Assert.Equal(BlockResult.Ok, swapped.Result);
        byte[] back = new byte[2 * Block];
        Assert.Equal(BlockResult.Ok, await device.ReadAsync(offset, back, default));
        Assert.True(back.AsSpan().SequenceEqual(replacement), "the write data replaced the compared data");
        // Compare `old` again (the range holds `replacement` now): a miscompare at byte 0, nothing written.
        byte[] third = Pattern(2 * Block, seed: 13);
        CompareAndWriteResult miscompare = await device.CompareAndWriteAsync(offset, old, third, false, default);
        Assert.Equal(BlockResult.Miscompare, miscompare.Result);
        Assert.Equal(0, miscompare.MiscompareOffsetBytes);
        Assert.Equal(BlockResult.Ok, await device.ReadAsync(offset, back, default));
        Assert.True(back.AsSpan().SequenceEqual(replacement), "a miscompare writes nothing");
        // A miscompare in the second block reports its offset.
        byte[] expected = (byte[])replacement.Clone();
        expected[Block + 5] ^= 0xFF;
        CompareAndWriteResult late = await device.CompareAndWriteAsync(offset, expected, third, false, default);
        Assert.Equal(BlockResult.Miscompare, late.Result);
        Assert.Equal(Block + 5, late.MiscompareOffsetBytes);
        CompareAndWriteResult crossing = await device.CompareAndWriteAsync(6 * Chunk - Block, new byte[2 * Block], new byte[2 * Block], false, default);
        Assert.Equal(BlockResult.NotAtomicRange, crossing.Result);
    }

    [Fact]
    public async Task RepeatingASuccessfulCompareAndWriteMiscompares()
    {
        // A clean MISCOMPARE is never second-guessed, even when the range already holds the write data (libiscsi's
        // MultipathIO.CompareAndWrite does exactly this); only a MISCOMPARE after an attempt that may have been
        // applied is re-checked (ClusterBlockDeviceFaultTests).
        using ClusterBlockDevice device = NewDevice();
        byte[] zeros = new byte[Block];
        byte[] ones = Pattern(Block, seed: 31);
        long offset = 7 * Chunk;
        Assert.Equal(BlockResult.Ok, (await device.CompareAndWriteAsync(offset, zeros, ones, false, default)).Result);
        CompareAndWriteResult again = await device.CompareAndWriteAsync(offset, zeros, ones, false, default);
        Assert.Equal(BlockResult.Miscompare, again.Result);
        Assert.Equal(0, again.MiscompareOffsetBytes);
    }

    [Fact]
    public async Task CancellationBeforeTheCallReturnsCancelled()
    {
        using ClusterBlockDevice device = NewDevice();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Equal(BlockResult.Cancelled, await device.WriteAsync(Chunk - Block, new byte[2 * Block], false, cancelled.Token));
        Assert.Equal(BlockResult.Cancelled, await device.ReadAsync(0, new byte[Block], cancelled.Token));
    }

    internal static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static byte[] Repeat(byte[] block, int count)
    {
        var all = new byte[block.Length * count];
        for (int i = 0; i < count; i++) block.CopyTo(all, i * block.Length);
        return all;
    }
}
