using System.Buffers.Binary;
using Sds.Gateway.Block;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Sense;
using Sds.Gateway.Tests.Block;

namespace Sds.Gateway.Tests.Scsi.Sbc;

/// <summary>
/// WRITE ATOMIC (16) exists only where the device promises atomicity (tgt's is_bs_support_opcode):
/// served on the memory device, INVALID COMMAND OPERATION CODE and absent from REPORT SUPPORTED
/// OPERATION CODES on the file device. Also: a resize raises CAPACITY DATA HAS CHANGED.
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
    public void FileDeviceHidesWriteAtomic()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sds-wa-{Guid.NewGuid():N}.img");
        try
        {
            using FileBlockDevice device = FileBlockDevice.Open(path, 1 << 20);
            var target = new ScsiTargetDevice();
            target.AddLogicalUnit(0, new LogicalUnit(device, new LogicalUnitIdentity(Guid.NewGuid())));
            var task = new ScsiTask();
            task.SetCdb(ScsiHarness.Hex("9c 00 00 00 00 00 00 00 00 08 00 00 00 01 00 00"));
            task.Nexus = ScsiHarness.NexusFor("iqn.2026-11.io.sds:x", 1);
            task.DataOut = new byte[512];
            Assert.True(target.ExecuteAsync(task).IsCompletedSuccessfully);
            ScsiAssert.Check(task, SenseKey.IllegalRequest, 0x20, 0x00);
            task.Reset();
            task.SetCdb(ScsiHarness.Hex("a3 0c 01 9c 00 00 00 00 00 40 00 00"));
            task.Nexus = ScsiHarness.NexusFor("iqn.2026-11.io.sds:x", 1);
            task.DataIn = new byte[64];
            Assert.True(target.ExecuteAsync(task).IsCompletedSuccessfully);
            Assert.Equal(0x01, task.DataIn.Span[1] & 0x07);
        }
        finally
        {
            File.Delete(path);
        }
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
