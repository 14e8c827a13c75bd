using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Tests.Scsi.Sbc;

/// <summary>
/// Proves the removable-medium behaviour of SBC-3 r36 §5.14 (PREVENT ALLOW MEDIUM REMOVAL) and
/// §5.20 (START STOP UNIT LOEJ) on a logical unit built removable, and that a fixed one keeps
/// refusing LOEJ. Method: real CDB bytes through the dispatcher of a real target device, two
/// I_T nexuses, and the task management and nexus-loss entry points the iSCSI layer calls.
/// </summary>
public class RemovableMediumTests
{
    private static readonly byte[] TestUnitReady = [0x00, 0, 0, 0, 0, 0];
    private static readonly byte[] Eject = [0x1B, 0, 0, 0, 0x02, 0];
    private static readonly byte[] Load = [0x1B, 0, 0, 0, 0x03, 0];
    private static readonly byte[] Prevent = [0x1E, 0, 0, 0, 0x01, 0];
    private static readonly byte[] Allow = [0x1E, 0, 0, 0, 0x00, 0];
    private static readonly byte[] Read10 = [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    private static readonly byte[] ReadCapacity10 = [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    private static readonly byte[] ModeSense6 = [0x1A, 0, 0x3F, 0, 0xFF, 0];
    private static readonly byte[] RequestSense = [0x03, 0, 0, 0, 18, 0];

    private static readonly ITNexus Other = ScsiHarness.NexusFor("iqn.2026-11.io.sds:initiator-b", 0x23d000000002, relativePort: 2);

    private static ScsiHarness Removable() => new(removable: true);

    [Fact]
    public void InquiryReportsRmbOnlyWhenRemovable()
    {
        using var removable = Removable();
        using var fixedUnit = new ScsiHarness();
        Assert.Equal(0x80, ScsiHarness.DataIn(removable.Run([0x12, 0, 0, 0, 36, 0]))[1]);
        Assert.Equal(0x00, ScsiHarness.DataIn(fixedUnit.Run([0x12, 0, 0, 0, 36, 0]))[1]);
    }

    [Fact]
    public void EjectMakesMediumAccessNotReadyAndLoadRestoresIt()
    {
        using var harness = Removable();
        ScsiAssert.Good(harness.Run(Eject));
        ScsiAssert.Check(harness.Run(TestUnitReady), SenseKey.NotReady, 0x3A, 0x00);
        ScsiAssert.Check(harness.Run(Read10, expectedLength: 512), SenseKey.NotReady, 0x3A, 0x00);
        ScsiAssert.Check(harness.Run(ReadCapacity10, expectedLength: 8), SenseKey.NotReady, 0x3A, 0x00);
        ScsiAssert.Check(harness.Run(Read10, expectedLength: 512, nexus: Other), SenseKey.NotReady, 0x3A, 0x00);
        // Commands that do not touch the medium still work.
        ScsiAssert.Good(harness.Run(ModeSense6, expectedLength: 255));
        ScsiAssert.Good(harness.Run([0x12, 0, 0, 0, 36, 0]));
        ScsiTask sense = harness.Run(RequestSense, expectedLength: 18);
        ScsiAssert.Good(sense);
        Assert.Equal((0x02, 0x3A, 0x00), (ScsiHarness.DataIn(sense)[2] & 0x0F, ScsiHarness.DataIn(sense)[12], ScsiHarness.DataIn(sense)[13]));
        // Ejecting an ejected medium is not an error.
        ScsiAssert.Good(harness.Run(Eject));
        ScsiAssert.Good(harness.Run(Load));
        ScsiAssert.Good(harness.Run(TestUnitReady));
        ScsiAssert.Good(harness.Run(Read10, expectedLength: 512));
    }

    [Fact]
    public void PreventFromAnyNexusBlocksEjectAndLoadUntilEveryNexusAllows()
    {
        using var harness = Removable();
        ScsiAssert.Good(harness.Run(Prevent));
        ScsiAssert.Good(harness.Run(Prevent, nexus: Other));
        ScsiAssert.Check(harness.Run(Eject), SenseKey.IllegalRequest, 0x53, 0x02);
        ScsiAssert.Check(harness.Run(Eject, nexus: Other), SenseKey.IllegalRequest, 0x53, 0x02);
        ScsiAssert.Good(harness.Run(TestUnitReady));
        ScsiAssert.Good(harness.Run(Allow));
        ScsiAssert.Check(harness.Run(Eject), SenseKey.IllegalRequest, 0x53, 0x02);
        ScsiAssert.Good(harness.Run(Allow, nexus: Other));
        ScsiAssert.Good(harness.Run(Eject));
        ScsiAssert.Check(harness.Run(TestUnitReady), SenseKey.NotReady, 0x3A, 0x00);
        // PREVENT is accepted without a medium, and then the tray does not move either way.
        ScsiAssert.Good(harness.Run(Prevent));
        ScsiAssert.Check(harness.Run(Load), SenseKey.IllegalRequest, 0x53, 0x02);
        ScsiAssert.Good(harness.Run(Allow));
        ScsiAssert.Good(harness.Run(Load));
        ScsiAssert.Good(harness.Run(TestUnitReady));
    }

    [Fact]
    public async Task NexusLossEndsOnlyThatNexusPrevention()
    {
        using var harness = Removable();
        ScsiAssert.Good(harness.Run(Prevent));
        await harness.Target.NexusLostAsync(harness.Nexus);
        ScsiAssert.Good(harness.Run(Eject, nexus: Other));
        ScsiAssert.Good(harness.Run(Load, nexus: Other));
        ScsiAssert.Good(harness.Run(Prevent, nexus: Other));
        await harness.Target.NexusLostAsync(harness.Nexus);
        ScsiAssert.Check(harness.Run(Eject), SenseKey.IllegalRequest, 0x53, 0x02);
    }

    [Theory]
    [InlineData(5)] // LOGICAL UNIT RESET
    [InlineData(6)] // TARGET WARM RESET
    [InlineData(7)] // TARGET COLD RESET
    public async Task ResetsEndEveryPrevention(byte functionCode)
    {
        var function = (TaskManagementFunction)functionCode;
        using var harness = Removable();
        ScsiAssert.Good(harness.Run(Prevent));
        ScsiAssert.Good(harness.Run(Prevent, nexus: Other));
        Assert.Equal(TaskManagementResponse.FunctionComplete, await harness.Target.ExecuteTaskManagementAsync(function, harness.Nexus, 0));
        ScsiAssert.Good(harness.Run(Eject));
        ScsiAssert.Good(harness.Run(Load));
    }

    [Theory]
    [InlineData(0x02)]
    [InlineData(0x03)]
    public void ObsoletePreventCodesAreInvalidFieldInCdb(byte prevent)
    {
        using var harness = Removable();
        ScsiTask task = harness.Run([0x1E, 0, 0, 0, prevent, 0]);
        ScsiAssert.Check(task, SenseKey.IllegalRequest, 0x24, 0x00);
        Assert.Equal((ushort)4, task.Sense.FieldPointer);
    }

    [Fact]
    public void UnknownServiceActionIsInvalidFieldEvenWithoutMedium()
    {
        using var harness = Removable();
        ScsiAssert.Good(harness.Run(Eject));
        // SERVICE ACTION IN(16) with service action 1Fh: not a command, so not a medium access.
        ScsiAssert.Check(harness.Run([0x9E, 0x1F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], expectedLength: 32), SenseKey.IllegalRequest, 0x24, 0x00);
        // READ CAPACITY(16) is one.
        ScsiAssert.Check(harness.Run([0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], expectedLength: 32), SenseKey.NotReady, 0x3A, 0x00);
    }

    [Fact]
    public void PowerConditionOtherThanZeroIgnoresLoej()
    {
        using var harness = Removable();
        ScsiAssert.Good(harness.Run([0x1B, 0, 0, 0, 0x12, 0]));
        ScsiAssert.Good(harness.Run(TestUnitReady));
    }

    [Fact]
    public void FixedUnitRefusesLoejAndAcceptsPrevent()
    {
        using var harness = new ScsiHarness();
        ScsiAssert.Check(harness.Run(Eject), SenseKey.IllegalRequest, 0x24, 0x00);
        ScsiAssert.Good(harness.Run(Prevent));
        ScsiAssert.Good(harness.Run(TestUnitReady));
    }
}
