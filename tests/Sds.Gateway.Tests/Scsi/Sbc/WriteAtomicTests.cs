using System.Buffers.Binary;
using Sds.Gateway.Block;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Sense;
using Sds.Gateway.Tests.Block;

namespace Sds.Gateway.Tests.Scsi.Sbc;

/// <summary>
/// WRITE ATOMIC (16) on a device that promises atomicity, with its Block Limits fields and the
/// ATOMIC BOUNDARY refusal. Also: a resize raises CAPACITY DATA HAS CHANGED.
/// </summary>
public sealed class WriteAtomicTests
{
    [Fact]
    public void MemoryDeviceServesWriteAtomicAndAdvertisesLimits()
    {
        using var harness = new ScsiHarness();
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("9c 00 00 00 00 00 00 00 00 08 00 00 00 02 00 00"), new byte[1024]));
        byte[] limits = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("12 01 b0 00 40 00")));
        Assert.NotEqual(0u, BinaryPrimitives.ReadUInt32BigEndian(limits.AsSpan(44)));
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex("9c 00 00 00 00 00 00 00 00 08 00 01 00 02 00 00"), new byte[1024]), SenseKey.IllegalRequest, 0x24, 0x00);
    }

    [Fact]
    public void ResizeRaisesCapacityDataChanged()
    {
        using var harness = new ScsiHarness(createNexus: true);
        harness.Run(ScsiHarness.Hex("00 00 00 00 00 00"));
        Assert.Equal(BlockResult.Ok, harness.Unit.ResizeAsync(128L * 1024 * 1024, default).Now());
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex("00 00 00 00 00 00")), SenseKey.UnitAttention, 0x2A, 0x09);
        byte[] capacity = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("25 00 00 00 00 00 00 00 00 00")));
        Assert.Equal(262143u, BinaryPrimitives.ReadUInt32BigEndian(capacity));
    }
}
