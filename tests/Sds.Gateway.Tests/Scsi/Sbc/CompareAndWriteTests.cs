using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Tests.Scsi.Sbc;

/// <summary>
/// COMPARE AND WRITE (SBC-3 r36 §5.2) and VERIFY/WRITE AND VERIFY: matching data is replaced,
/// a mismatch writes nothing and reports MISCOMPARE with the first differing offset in INFORMATION.
/// </summary>
public sealed class CompareAndWriteTests
{
    [Fact]
    public void MatchWritesMismatchReportsOffset()
    {
        using var harness = new ScsiHarness();
        byte[] buffer = new byte[2 * 1024];
        buffer.AsSpan(1024).Fill(0x42);
        byte[] cdb = ScsiHarness.Hex("89 00 00 00 00 00 00 00 00 10 00 00 00 02 00 00");
        ScsiTask first = harness.Run(cdb, buffer);
        ScsiAssert.Good(first);
        Assert.Equal(2048u, first.CdbTransferLength);
        // The blocks now hold 0x42; comparing against zeros again mismatches at byte 0 of the first block.
        byte[] again = (byte[])buffer.Clone();
        again.AsSpan(0, 1024).Fill(0x42);
        again[700] = 0x00;
        ScsiTask mismatch = harness.Run(cdb, again);
        ScsiAssert.Check(mismatch, SenseKey.Miscompare, 0x1D, 0x00);
        Assert.True(mismatch.Sense.InformationValid);
        Assert.Equal(700ul, mismatch.Sense.Information);
    }

    [Theory]
    [InlineData("89 00 00 00 00 00 00 00 00 10 00 00 00 41 00 00", 65 * 1024)] // beyond MAXIMUM COMPARE AND WRITE LENGTH
    [InlineData("89 00 00 00 00 00 00 00 00 10 00 00 00 00 00 00", 1024)]      // zero blocks with data
    public void InvalidLengthsAreInvalidFieldInCdb(string cdb, int dataOutBytes)
    {
        using var harness = new ScsiHarness();
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex(cdb), new byte[dataOutBytes]), SenseKey.IllegalRequest, 0x24, 0x00);
    }

    [Fact]
    public void VerifyByteCheckComparesMedium()
    {
        using var harness = new ScsiHarness();
        byte[] data = new byte[1024];
        data.AsSpan().Fill(9);
        harness.Run(ScsiHarness.Hex("2e 02 00 00 00 00 00 00 02 00"), data);
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("2f 02 00 00 00 00 00 00 02 00"), data));
        byte[] other = (byte[])data.Clone();
        other[600] = 1;
        ScsiTask mismatch = harness.Run(ScsiHarness.Hex("2f 02 00 00 00 00 00 00 02 00"), other);
        ScsiAssert.Check(mismatch, SenseKey.Miscompare, 0x1D, 0x00);
        Assert.Equal(600ul, mismatch.Sense.Information);
        // BYTCHK 11b: one block compared against every block of the range.
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("2f 06 00 00 00 00 00 00 02 00"), data.AsSpan(0, 512).ToArray()));
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("2f 00 00 00 00 00 00 00 02 00")));
    }
}
