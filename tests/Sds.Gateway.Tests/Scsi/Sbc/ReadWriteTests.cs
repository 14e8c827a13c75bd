using System.Buffers.Binary;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Sense;

using Sds.Gateway.Tests.Block;

namespace Sds.Gateway.Tests.Scsi.Sbc;

/// <summary>
/// READ/WRITE (6/10/12/16), READ CAPACITY and SYNCHRONIZE CACHE (SBC-3 r36): data round trips for
/// every CDB size, range and protection checks, transfer lengths for residual accounting.
/// </summary>
public sealed class ReadWriteTests
{
    public static TheoryData<string, string> ReadWritePairs => new()
    {
        { "0a 00 00 10 02 00", "08 00 00 10 02 00" },
        { "2a 08 00 00 00 10 00 00 02 00", "28 00 00 00 00 10 00 00 02 00" },
        { "aa 00 00 00 00 10 00 00 00 02 00 00", "a8 00 00 00 00 10 00 00 00 02 00 00" },
        { "8a 00 00 00 00 00 00 00 00 10 00 00 00 02 00 00", "88 00 00 00 00 00 00 00 00 10 00 00 00 02 00 00" },
    };

    [Theory]
    [MemberData(nameof(ReadWritePairs))]
    public void WriteThenReadRoundTrips(string write, string read)
    {
        using var harness = new ScsiHarness();
        byte[] data = new byte[1024];
        new Random(1234).NextBytes(data);
        ScsiTask written = harness.Run(ScsiHarness.Hex(write), data);
        ScsiAssert.Good(written);
        Assert.Equal(1024u, written.CdbTransferLength);
        ScsiTask readBack = harness.Run(ScsiHarness.Hex(read), expectedLength: 1024);
        ScsiAssert.Good(readBack);
        Assert.Equal(data, ScsiHarness.DataIn(readBack));
        // LBA 0x10 with 512-byte blocks: byte offset 8192 on the device.
        byte[] raw = new byte[1024];
        harness.Device.ReadAsync(8192, raw, default).Now();
        Assert.Equal(data, raw);
    }

    [Fact]
    public void Read6TransferLengthZeroMeans256Blocks()
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run(ScsiHarness.Hex("08 00 00 00 00 00"), expectedLength: 256 * 512);
        ScsiAssert.Good(task);
        Assert.Equal(256u * 512, task.CdbTransferLength);
    }

    [Theory]
    [InlineData("28 00 00 01 ff ff 00 00 02 00")] // last LBA 0x1ffff, 2 blocks: one past the end
    [InlineData("88 00 ff ff ff ff ff ff ff ff 00 00 00 01 00 00")]
    [InlineData("28 00 00 02 00 01 00 00 00 00")] // zero blocks beyond the end
    public void BeyondEndIsLbaOutOfRange(string cdb)
    {
        using var harness = new ScsiHarness();
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex(cdb)), SenseKey.IllegalRequest, 0x21, 0x00);
    }

    [Theory]
    [InlineData("28 20 00 00 00 00 00 00 01 00")]
    [InlineData("a8 e0 00 00 00 00 00 00 00 01 00 00")]
    public void ProtectionFieldsAreInvalidWithoutProtectionInformation(string cdb)
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run(ScsiHarness.Hex(cdb));
        ScsiAssert.Check(task, SenseKey.IllegalRequest, 0x24, 0x00);
        Assert.Equal(1, task.Sense.FieldPointer);
    }

    [Fact]
    public void ZeroBlockReadIsGoodWithNoData()
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run(ScsiHarness.Hex("28 00 00 00 00 00 00 00 00 00"), expectedLength: 0);
        ScsiAssert.Good(task);
        Assert.Equal(0, task.DataInLength);
    }

    [Fact]
    public void ShortExpectedLengthMovesWhatFitsAndReportsTheCdbLength()
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run(ScsiHarness.Hex("28 00 00 00 00 00 00 00 02 00"), expectedLength: 700);
        ScsiAssert.Good(task);
        Assert.Equal(700, task.DataInLength);
        Assert.Equal(1024u, task.CdbTransferLength);
    }

    [Fact]
    public void ReadCapacity10And16ReportSizeAndThinProvisioning()
    {
        using var harness = new ScsiHarness(sizeBytes: 64L * 1024 * 1024);
        byte[] ten = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("25 00 00 00 00 00 00 00 00 00")));
        Assert.Equal(131071u, BinaryPrimitives.ReadUInt32BigEndian(ten));
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32BigEndian(ten.AsSpan(4)));
        byte[] sixteen = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00")));
        Assert.Equal(32, sixteen.Length);
        Assert.Equal(131071ul, BinaryPrimitives.ReadUInt64BigEndian(sixteen));
        Assert.Equal(3, sixteen[13] & 0x0F);
        Assert.Equal(0xC0, sixteen[14] & 0xC0);
    }

    [Fact]
    public void ReadCapacity10WithLbaButNoPmiIsInvalid()
    {
        using var harness = new ScsiHarness();
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex("25 00 00 00 00 01 00 00 00 00")), SenseKey.IllegalRequest, 0x24, 0x00);
    }

    [Theory]
    [InlineData("35 00 00 00 00 00 00 00 00 00", 0x00)]
    [InlineData("91 00 00 00 00 00 00 00 00 00 00 00 00 10 00 00", 0x00)]
    [InlineData("35 00 00 02 00 00 00 00 01 00", 0x21)]
    public void SynchronizeCache(string cdb, byte asc)
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run(ScsiHarness.Hex(cdb));
        if (asc == 0) ScsiAssert.Good(task);
        else ScsiAssert.Check(task, SenseKey.IllegalRequest, asc, 0);
    }

    [Fact]
    public void ReportLunsListsLunZero()
    {
        using var harness = new ScsiHarness();
        byte[] data = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("a0 00 00 00 00 00 00 00 01 00 00 00")));
        Assert.Equal(16, data.Length);
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32BigEndian(data));
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex("a0 00 00 00 00 00 00 00 00 08 00 00")), SenseKey.IllegalRequest, 0x24, 0x00);
    }
}
