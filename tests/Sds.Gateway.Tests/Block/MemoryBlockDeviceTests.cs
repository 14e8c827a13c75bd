using Sds.Gateway.Block;

namespace Sds.Gateway.Tests.Block;

/// <summary>
/// MemoryBlockDevice: sparse (a 1 GiB device holds only what was written), unmap, write same,
/// compare and write and provisioning status. Method: direct calls, checking bytes and chunk counts.
/// </summary>
public sealed class MemoryBlockDeviceTests
{
    [Fact]
    public void OneGibDeviceAllocatesOnlyWrittenChunks()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        using var device = new MemoryBlockDevice(1L << 30);
        byte[] block = new byte[512];
        block[0] = 0xAB;
        Assert.Equal(BlockResult.Ok, device.WriteAsync(512L * 1000, block, false, default).Now());
        Assert.Equal(1, device.MappedChunkCount);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void UnmapDeallocatesAndReadsZeros()
    {
        using var device = new MemoryBlockDevice(1 << 20);
        byte[] data = new byte[8192];
        data.AsSpan().Fill(7);
        device.WriteAsync(0, data, false, default).Now();
        Assert.True(device.GetProvisioningStatusAsync(0, 8192, default).Now().Mapped);
        Assert.Equal(BlockResult.Ok, device.UnmapAsync(0, 4096, default).Now());
        ProvisioningStatus status = device.GetProvisioningStatusAsync(0, 1 << 20, default).Now();
        Assert.False(status.Mapped);
        Assert.Equal(4096, status.LengthBytes);
        byte[] back = new byte[8192];
        device.ReadAsync(0, back, default).Now();
        Assert.True(back.AsSpan(0, 4096).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(back.AsSpan(4096).IndexOfAnyExcept((byte)7) < 0);
    }

    [Fact]
    public void CompareAndWriteReportsFirstDifferingByte()
    {
        using var device = new MemoryBlockDevice(1 << 20);
        byte[] expected = new byte[1024];
        byte[] data = new byte[1024];
        data.AsSpan().Fill(1);
        Assert.Equal(BlockResult.Ok, device.CompareAndWriteAsync(0, expected, data, false, default).Now().Result);
        CompareAndWriteResult mismatch = device.CompareAndWriteAsync(0, expected, data, false, default).Now();
        Assert.Equal(BlockResult.Miscompare, mismatch.Result);
        Assert.Equal(0, mismatch.MiscompareOffsetBytes);
    }

    [Fact]
    public void OutOfRangeIsAValue()
    {
        using var device = new MemoryBlockDevice(4096);
        Assert.Equal(BlockResult.OutOfRange, device.ReadAsync(4096, new byte[512], default).Now());
    }
}
