using System.Buffers.Binary;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Tests.Scsi.Sbc;

/// <summary>
/// Thin provisioning (SBC-3 r36 §4.7.3): UNMAP, WRITE SAME with UNMAP/ANCHOR/NDOB, GET LBA STATUS
/// and the VPD pages that advertise them. Method: real CDBs and parameter lists, then the
/// device's provisioning state and data read back.
/// </summary>
public sealed class ThinProvisioningTests
{
    private static byte[] UnmapList(params (ulong Lba, uint Blocks)[] ranges)
    {
        byte[] list = new byte[8 + 16 * ranges.Length];
        BinaryPrimitives.WriteUInt16BigEndian(list, (ushort)(list.Length - 2));
        BinaryPrimitives.WriteUInt16BigEndian(list.AsSpan(2), (ushort)(16 * ranges.Length));
        for (int i = 0; i < ranges.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(8 + 16 * i), ranges[i].Lba);
            BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(16 + 16 * i), ranges[i].Blocks);
        }
        return list;
    }

    private static byte[] UnmapCdb(int length) => [0x42, 0, 0, 0, 0, 0, 0, (byte)(length >> 8), (byte)length, 0];

    private static void Fill(ScsiHarness harness, int blocks, byte value)
    {
        byte[] data = new byte[blocks * 512];
        data.AsSpan().Fill(value);
        ScsiAssert.Good(harness.Run([0x2A, 0, 0, 0, 0, 0, 0, (byte)(blocks >> 8), (byte)blocks, 0], data));
    }

    private static byte[] GetLbaStatus(ScsiHarness harness, ulong lba)
    {
        byte[] cdb = ScsiHarness.Hex("9e 12 00 00 00 00 00 00 00 00 00 00 01 00 00 00");
        BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), lba);
        ScsiTask task = harness.Run(cdb);
        ScsiAssert.Good(task);
        return ScsiHarness.DataIn(task);
    }

    [Fact]
    public void UnmapDeallocatesAndGetLbaStatusReportsIt()
    {
        using var harness = new ScsiHarness();
        Fill(harness, 64, 0xEE);
        byte[] list = UnmapList((8, 16), (40, 8));
        ScsiAssert.Good(harness.Run(UnmapCdb(list.Length), list));
        byte[] status = GetLbaStatus(harness, 0);
        // Mapped 0–7, deallocated 8–23, mapped 24–39, deallocated 40–47, mapped 48–63, then unmapped to the end.
        Assert.Equal((0ul, 8u, (byte)0), Descriptor(status, 0));
        Assert.Equal((8ul, 16u, (byte)1), Descriptor(status, 1));
        Assert.Equal((24ul, 16u, (byte)0), Descriptor(status, 2));
        Assert.Equal((40ul, 8u, (byte)1), Descriptor(status, 3));
        byte[] read = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("28 00 00 00 00 08 00 00 10 00"), expectedLength: 16 * 512));
        Assert.True(read.AsSpan().IndexOfAnyExcept((byte)0) < 0);
    }

    private static (ulong, uint, byte) Descriptor(byte[] data, int index) =>
        (BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(8 + 16 * index)),
         BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(16 + 16 * index)),
         data[20 + 16 * index]);

    [Fact]
    public void UnmapRejectsBadListsWithoutChangingAnything()
    {
        using var harness = new ScsiHarness();
        Fill(harness, 16, 0x11);
        byte[] beyond = UnmapList((0, 8), (ulong.MaxValue - 1, 8));
        ScsiAssert.Check(harness.Run(UnmapCdb(beyond.Length), beyond), SenseKey.IllegalRequest, 0x21, 0x00);
        Assert.Equal(0, GetLbaStatus(harness, 0)[20]);
        ScsiAssert.Check(harness.Run(UnmapCdb(4), new byte[4]), SenseKey.IllegalRequest, 0x1A, 0x00);
        ScsiAssert.Good(harness.Run(UnmapCdb(0), []));
    }

    [Fact]
    public void WriteSameWritesThePatternAndUnmapDeallocates()
    {
        using var harness = new ScsiHarness();
        byte[] pattern = new byte[512];
        pattern.AsSpan().Fill(0x7C);
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("41 00 00 00 00 00 00 00 20 00"), pattern));
        byte[] read = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("28 00 00 00 00 00 00 00 20 00"), expectedLength: 32 * 512));
        Assert.True(read.AsSpan().IndexOfAnyExcept((byte)0x7C) < 0);
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("93 08 00 00 00 00 00 00 00 00 00 00 00 20 00 00"), new byte[512]));
        Assert.Equal(1, GetLbaStatus(harness, 0)[20]);
    }

    [Theory]
    [InlineData("41 10 00 00 00 00 00 00 01 00", 512)] // ANCHOR without UNMAP
    [InlineData("41 04 00 00 00 00 00 00 01 00", 512)] // PBDATA
    [InlineData("41 00 00 00 00 00 00 00 01 00", 256)] // Data-Out shorter than a block
    public void WriteSameInvalidRequests(string cdb, int dataOutBytes)
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run(ScsiHarness.Hex(cdb), new byte[dataOutBytes]);
        Assert.Equal(ScsiStatus.CheckCondition, task.Status);
        Assert.Equal(SenseKey.IllegalRequest, task.Sense.Key);
    }

    [Fact]
    public void WriteSameNdobWritesZerosWithoutDataOut()
    {
        using var harness = new ScsiHarness();
        Fill(harness, 8, 0x55);
        ScsiTask task = harness.Run(ScsiHarness.Hex("93 01 00 00 00 00 00 00 00 00 00 00 00 08 00 00"), expectedLength: 0);
        ScsiAssert.Good(task);
        byte[] read = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("28 00 00 00 00 00 00 00 08 00"), expectedLength: 8 * 512));
        Assert.True(read.AsSpan().IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void GetLbaStatusBeyondCapacityIsLbaOutOfRange()
    {
        using var harness = new ScsiHarness(sizeBytes: 1 << 20);
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex("9e 12 00 00 00 00 00 00 08 00 00 00 00 18 00 00")), SenseKey.IllegalRequest, 0x21, 0x00);
    }
}
