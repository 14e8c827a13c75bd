using Sds.Gateway.Iscsi.Session;
using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Tests.Iscsi.Session;

/// <summary>Proves the SCSI Response sense data segment: 2-byte SenseLength then SPC-4 fixed or descriptor sense.</summary>
public class SenseSegmentTests
{
    [Fact]
    public void FixedFormatWithFieldPointer()
    {
        var sense = new SenseData(SenseKey.IllegalRequest, 0x24, 0x00) { FieldPointerValid = true, FieldPointerInCdb = true, FieldPointer = 2 };
        byte[] buffer = new byte[34];
        int length = SenseSegment.Encode(sense, buffer);
        Assert.Equal(20, length);
        Assert.Equal(new byte[] { 0x00, 0x12 }, buffer[..2]);
        Assert.Equal(0x70, buffer[2]);
        Assert.Equal(0x05, buffer[4]);
        Assert.Equal(10, buffer[9]);
        Assert.Equal(0x24, buffer[14]);
        Assert.Equal(0x00, buffer[15]);
        Assert.Equal(new byte[] { 0xC0, 0x00, 0x02 }, buffer[17..20]);
    }

    [Fact]
    public void LargeInformationUsesDescriptorFormat()
    {
        var sense = new SenseData(SenseKey.Miscompare, 0x1D, 0x00) { InformationValid = true, Information = 0x1_0000_0000ul };
        byte[] buffer = new byte[34];
        int length = SenseSegment.Encode(sense, buffer);
        Assert.Equal(2 + 8 + 12, length);
        Assert.Equal(0x72, buffer[2]);
        Assert.Equal(0x0E, buffer[3]);
        Assert.Equal(0x1D, buffer[4]);
        Assert.Equal(0x80, buffer[2 + 10]);
        Assert.Equal(0x01, buffer[2 + 15]);
    }
}
