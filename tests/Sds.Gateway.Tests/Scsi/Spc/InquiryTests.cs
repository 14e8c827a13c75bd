using System.Text;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Tests.Scsi.Spc;

/// <summary>
/// INQUIRY standard data and VPD pages (SPC-4 r37 §6.6, §7.8; SBC-3 r36 §6.5): fields, identity
/// derived from the volume id, allocation-length truncation, and invalid page codes.
/// </summary>
public sealed class InquiryTests
{
    [Fact]
    public void StandardDataDescribesAnSpc4DiskWithImplicitAlua()
    {
        using var harness = new ScsiHarness();
        byte[] data = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("12 00 00 00 ff 00")));
        Assert.Equal(96, data.Length);
        Assert.Equal(0x00, data[0]);
        Assert.Equal(0x06, data[2]);
        Assert.Equal(0x02, data[3] & 0x0F);
        Assert.Equal(91, data[4]);
        Assert.Equal(0x10, data[5] & 0x30);
        Assert.Equal("SDS     ", Encoding.ASCII.GetString(data, 8, 8));
        Assert.Equal("SdsTarget       ", Encoding.ASCII.GetString(data, 16, 16));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(36)]
    public void AllocationLengthTruncates(int allocation)
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run([0x12, 0, 0, 0, (byte)allocation, 0]);
        ScsiAssert.Good(task);
        Assert.Equal(allocation, task.DataInLength);
    }

    [Theory]
    [InlineData(0x00, 4 + 7)]
    [InlineData(0x8F, 4 + 12 + 32 + 8)]
    [InlineData(0x80, 4 + 32)]
    [InlineData(0xB0, 64)]
    [InlineData(0xB1, 64)]
    [InlineData(0xB2, 8)]
    public void VpdPagesHaveTheirLengths(byte page, int length)
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run([0x12, 0x01, page, 0x01, 0x00, 0]);
        ScsiAssert.Good(task);
        byte[] data = ScsiHarness.DataIn(task);
        Assert.Equal(length, data.Length);
        Assert.Equal(page, data[1]);
    }

    [Fact]
    public void SerialAndNaaAreDerivedFromTheVolumeId()
    {
        using var harness = new ScsiHarness();
        byte[] serial = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("12 01 80 00 ff 00")));
        Assert.Equal(ScsiHarness.VolumeId.ToString("N"), Encoding.ASCII.GetString(serial, 4, serial[3]));
        byte[] ids = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("12 01 83 01 00 00")));
        Assert.Equal(0x03, ids[5] & 0x0F);
        Assert.Equal(0x6, ids[8] >> 4);
        // Relative target port and target port group designators follow the NAA one.
        Assert.Equal(0x94, ids[25]);
        Assert.Equal(1, ids[31]);
        Assert.Equal(0x95, ids[33]);
        // Same volume id, same designator: every gateway reports one identity.
        using var again = new ScsiHarness();
        Assert.Equal(ids[4..24], ScsiHarness.DataIn(again.Run(ScsiHarness.Hex("12 01 83 01 00 00")))[4..24]);
    }

    [Theory]
    [InlineData("12 00 80 00 ff 00", 2)] // page code without EVPD
    [InlineData("12 01 c5 00 ff 00", 2)] // unsupported VPD page
    [InlineData("12 02 00 00 ff 00", 1)] // CMDDT
    public void InvalidFieldsPointAtTheByte(string cdb, int fieldByte)
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run(ScsiHarness.Hex(cdb));
        ScsiAssert.Check(task, SenseKey.IllegalRequest, 0x24, 0x00);
        Assert.Equal(fieldByte, task.Sense.FieldPointer);
    }
}
