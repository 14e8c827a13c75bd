using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Tests.Scsi.Spc;

/// <summary>MODE SENSE (6)/(10), SPC-4 r37 §6.11–6.12: headers, block descriptors, pages and value sets.</summary>
public sealed class ModeSenseTests
{
    [Fact]
    public void AllPagesWithBlockDescriptor()
    {
        using var harness = new ScsiHarness();
        byte[] data = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("1a 00 3f 00 ff 00")));
        Assert.Equal(data.Length - 1, data[0]);
        Assert.Equal(8, data[3]);
        Assert.Equal(0x10, data[2]); // DPOFUA, not write protected
        Assert.Equal(0x81, data[12]); // first page: 01h with PS
        Assert.Equal(4 + 8 + 12 + 20 + 12 + 12, data.Length);
    }

    [Fact]
    public void CachingPageReportsWriteCacheAndItsChangeableMask()
    {
        using var harness = new ScsiHarness();
        byte[] current = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("1a 08 08 00 ff 00")));
        Assert.Equal(0x04, current[4 + 2] & 0x04);
        byte[] changeable = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("1a 08 48 00 ff 00")));
        Assert.Equal(0x04, changeable[4 + 2]);
    }

    [Fact]
    public void ModeSense10WithLongLbaDescriptor()
    {
        using var harness = new ScsiHarness();
        byte[] data = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("5a 10 0a 00 00 00 00 00 ff 00")));
        Assert.Equal(0x01, data[4]);
        Assert.Equal(16, data[7]);
        Assert.Equal(0x8A, data[8 + 16]);
        Assert.Equal(data.Length - 2, (data[0] << 8) | data[1]);
    }

    [Fact]
    public void ReadOnlyUnitSetsWriteProtectBit()
    {
        using var harness = new ScsiHarness(readOnly: true);
        byte[] data = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("1a 00 3f 00 ff 00")));
        Assert.Equal(0x80, data[2] & 0x80);
    }

    [Theory]
    [InlineData("1a 00 05 00 ff 00")]
    [InlineData("1a 00 08 01 ff 00")]
    public void UnknownPageOrSubpageIsInvalidFieldInCdb(string cdb)
    {
        using var harness = new ScsiHarness();
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex(cdb)), SenseKey.IllegalRequest, 0x24, 0x00);
    }
}
