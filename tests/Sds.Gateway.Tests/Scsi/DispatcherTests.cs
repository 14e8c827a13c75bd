using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Tests.Scsi;

/// <summary>
/// Proves the dispatcher's shared checks (tgt scsi_cmd_perform): unknown opcodes, unknown LUNs,
/// CONTROL byte, unit attention after login and reset, write protection. Method: raw CDBs through
/// a real ScsiTargetDevice over a MemoryBlockDevice.
/// </summary>
public sealed class DispatcherTests
{
    [Theory]
    [InlineData("02 00 00 00 00 00")]             // unassigned in SBC-3
    [InlineData("ff 00 00 00 00 00 00 00 00 00")] // vendor specific
    [InlineData("c0 00 00 00 00 00")]
    public void UnsupportedOpcodeIsInvalidCommandOperationCode(string cdb)
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run(ScsiHarness.Hex(cdb));
        ScsiAssert.Check(task, SenseKey.IllegalRequest, 0x20, 0x00);
    }

    [Theory]
    [InlineData("00 00 00 00 00 00", false)] // TEST UNIT READY
    [InlineData("25 00 00 00 00 00 00 00 00 00", false)] // READ CAPACITY(10)
    [InlineData("a0 00 00 00 00 00 00 00 10 00 00 00", true)] // REPORT LUNS
    public void UnknownLunAnswersPerSpc4(string cdb, bool served)
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run(ScsiHarness.Hex(cdb), lun: 7);
        if (served) ScsiAssert.Good(task);
        else ScsiAssert.Check(task, SenseKey.IllegalRequest, 0x25, 0x00);
    }

    [Fact]
    public void InquiryOnUnknownLunReportsQualifier011()
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run(ScsiHarness.Hex("12 00 00 00 60 00"), lun: 3);
        ScsiAssert.Good(task);
        Assert.Equal(0x7F, ScsiHarness.DataIn(task)[0]);
    }

    [Fact]
    public void RequestSenseOnUnknownLunReportsLogicalUnitNotSupported()
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run(ScsiHarness.Hex("03 00 00 00 12 00"), lun: 3);
        ScsiAssert.Good(task);
        byte[] sense = ScsiHarness.DataIn(task);
        Assert.Equal((0x70, 0x05, 0x25), (sense[0] & 0x7F, sense[2], sense[12]));
    }

    [Fact]
    public void NacaBitInControlByteIsInvalidFieldInCdb()
    {
        using var harness = new ScsiHarness();
        ScsiTask task = harness.Run(ScsiHarness.Hex("00 00 00 00 00 04"));
        ScsiAssert.Check(task, SenseKey.IllegalRequest, 0x24, 0x00);
        Assert.True(task.Sense.FieldPointerValid && task.Sense.FieldPointerInCdb);
        Assert.Equal(5, task.Sense.FieldPointer);
    }

    [Fact]
    public void UnitAttentionAfterLoginIsReportedOnceAndInquiryDoesNotClearIt()
    {
        using var harness = new ScsiHarness(createNexus: true);
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("12 00 00 00 60 00")));
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("a0 00 00 00 00 00 00 00 10 00 00 00")));
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex("00 00 00 00 00 00")), SenseKey.UnitAttention, 0x29, 0x00);
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("00 00 00 00 00 00")));
    }

    [Fact]
    public void RequestSenseReportsAndClearsUnitAttention()
    {
        using var harness = new ScsiHarness(createNexus: true);
        ScsiTask task = harness.Run(ScsiHarness.Hex("03 00 00 00 12 00"));
        ScsiAssert.Good(task);
        byte[] sense = ScsiHarness.DataIn(task);
        Assert.Equal((0x06, 0x29), (sense[2], sense[12]));
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("00 00 00 00 00 00")));
        byte[] none = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("03 00 00 00 12 00")));
        Assert.Equal((0x00, 0x00), (none[2], none[12]));
    }

    [Fact]
    public async Task LogicalUnitResetRaisesUnitAttentionForEveryNexus()
    {
        using var harness = new ScsiHarness(createNexus: true);
        ITNexus other = ScsiHarness.NexusFor("iqn.2026-11.io.sds:initiator-b", 0x23d000000002);
        harness.Target.NexusCreated(other);
        harness.Run(ScsiHarness.Hex("00 00 00 00 00 00"));
        harness.Run(ScsiHarness.Hex("00 00 00 00 00 00"), nexus: other);
        Assert.Equal(TaskManagementResponse.FunctionComplete,
            await harness.Target.ExecuteTaskManagementAsync(TaskManagementFunction.LogicalUnitReset, harness.Nexus, LunAddress.ToWire(0)));
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex("00 00 00 00 00 00")), SenseKey.UnitAttention, 0x29, 0x03);
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex("00 00 00 00 00 00"), nexus: other), SenseKey.UnitAttention, 0x29, 0x03);
    }

    [Fact]
    public void ReadOnlyUnitRefusesWritesWithWriteProtected()
    {
        using var harness = new ScsiHarness(readOnly: true);
        ScsiTask task = harness.Run(ScsiHarness.Hex("2a 00 00 00 00 00 00 00 01 00"), new byte[512]);
        ScsiAssert.Check(task, SenseKey.DataProtect, 0x27, 0x00);
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("28 00 00 00 00 00 00 00 01 00")));
    }
}
