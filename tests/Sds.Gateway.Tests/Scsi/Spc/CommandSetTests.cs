using System.Buffers.Binary;
using Sds.Gateway.Block;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Sense;
using Sds.Gateway.Tests.Block;

namespace Sds.Gateway.Tests.Scsi.Spc;

/// <summary>
/// REPORT SUPPORTED OPERATION CODES answered from the command table, REPORT TARGET PORT GROUPS,
/// MODE SELECT against changeable masks, and EXTENDED COPY between two logical units found by NAA.
/// </summary>
public sealed class CommandSetTests
{
    [Fact]
    public void ReportSupportedOperationCodesListsEveryTableRow()
    {
        using var harness = new ScsiHarness();
        byte[] all = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("a3 0c 00 00 00 00 00 00 40 00 00 00")));
        int count = (int)BinaryPrimitives.ReadUInt32BigEndian(all) / 8;
        Assert.Equal(CommandTable.DirectAccess.Supported.Count(), count);
        // One command: READ(10) is supported with a 10-byte usage map starting with its opcode.
        byte[] one = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("a3 0c 01 28 00 00 00 00 00 40 00 00")));
        Assert.Equal(0x03, one[1] & 0x07);
        Assert.Equal(10, BinaryPrimitives.ReadUInt16BigEndian(one.AsSpan(2)));
        Assert.Equal(0x28, one[4]);
        // An opcode with service actions asked without one is an invalid field.
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex("a3 0c 01 9e 00 00 00 00 00 40 00 00")), SenseKey.IllegalRequest, 0x24, 0x00);
        // Unsupported: SUPPORT 001b.
        byte[] none = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("a3 0c 01 02 00 00 00 00 00 40 00 00")));
        Assert.Equal(0x01, none[1] & 0x07);
        // With RCTD every descriptor carries a 12-byte timeouts descriptor.
        byte[] timeouts = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("a3 0c 80 00 00 00 00 00 40 00 00 00")));
        Assert.Equal(count * 20, (int)BinaryPrimitives.ReadUInt32BigEndian(timeouts));
    }

    [Fact]
    public void ReportTargetPortGroupsListsTheGatewayGroup()
    {
        using var device = new MemoryBlockDevice(1 << 20);
        var target = new ScsiTargetDevice(new NexusTargetPortGroupProvider(1, 2));
        target.AddLogicalUnit(0, new LogicalUnit(device, new LogicalUnitIdentity(ScsiHarness.VolumeId)));
        var task = new ScsiTask();
        task.SetCdb(ScsiHarness.Hex("a3 0a 00 00 00 00 00 00 01 00 00 00"));
        task.Nexus = ScsiHarness.NexusFor("iqn.2026-11.io.sds:i", 1, relativePort: 2);
        task.DataIn = new byte[256];
        Assert.True(target.ExecuteAsync(task).IsCompletedSuccessfully);
        ScsiAssert.Good(task);
        byte[] data = ScsiHarness.DataIn(task);
        Assert.Equal(4 + 8 + 8, data.Length);
        Assert.Equal(0x80, data[4] & 0x8F); // PREF, active/optimized
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(6)));
        Assert.Equal(2, data[11]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(14)));
        Assert.Equal(2, BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(18)));
    }

    [Fact]
    public void ModeSelectChangesWriteCacheAndRefusesUnchangeableBits()
    {
        using var harness = new ScsiHarness();
        ITNexus other = ScsiHarness.NexusFor("iqn.2026-11.io.sds:other", 9);
        harness.Target.NexusCreated(other);
        harness.Run(ScsiHarness.Hex("00 00 00 00 00 00"), nexus: other);
        byte[] page = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("1a 08 08 00 ff 00")));
        byte[] list = new byte[page.Length];
        page.CopyTo(list, 0);
        list[0] = 0;
        list[4] &= 0x7F; // PS is reserved in MODE SELECT
        list[4 + 2] &= unchecked((byte)~0x04); // WCE off
        ScsiAssert.Good(harness.Run([0x15, 0x11, 0, 0, (byte)list.Length, 0], list));
        Assert.False(harness.Unit.ModePages.WriteCacheEnabled);
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex("00 00 00 00 00 00"), nexus: other), SenseKey.UnitAttention, 0x2A, 0x01);
        list[4 + 3] = 0xFF; // not changeable
        ScsiTask bad = harness.Run([0x15, 0x10, 0, 0, (byte)list.Length, 0], list);
        ScsiAssert.Check(bad, SenseKey.IllegalRequest, 0x26, 0x00);
        Assert.Equal(4 + 3, bad.Sense.FieldPointer);
        Assert.False(bad.Sense.FieldPointerInCdb);
    }

    [Fact]
    public void SoftwareWriteProtectIsNotChangeable()
    {
        using var harness = new ScsiHarness();
        byte[] page = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("1a 08 0a 00 ff 00")));
        page[0] = 0;
        page[2] = 0;
        page[4] &= 0x7F;
        page[4 + 4] |= 0x08; // SWP
        ScsiTask task = harness.Run([0x15, 0x10, 0, 0, (byte)page.Length, 0], page);
        ScsiAssert.Check(task, SenseKey.IllegalRequest, 0x26, 0x00);
        Assert.Equal(4 + 4, task.Sense.FieldPointer);
        Assert.Equal(3, task.Sense.FieldPointerBit);
    }

    [Fact]
    public void ExtendedCopyCopiesBetweenLogicalUnitsFoundByNaa()
    {
        using var sourceDevice = new MemoryBlockDevice(1 << 20);
        using var destinationDevice = new MemoryBlockDevice(1 << 20);
        var target = new ScsiTargetDevice();
        var source = new LogicalUnit(sourceDevice, new LogicalUnitIdentity(Guid.NewGuid()));
        var destination = new LogicalUnit(destinationDevice, new LogicalUnitIdentity(Guid.NewGuid()));
        target.AddLogicalUnit(0, source);
        target.AddLogicalUnit(1, destination);
        byte[] data = new byte[8 * 512];
        new Random(5).NextBytes(data);
        sourceDevice.WriteAsync(0, data, false, default).Now();

        byte[] list = new byte[16 + 64 + 28];
        list[0] = 7; // LIST IDENTIFIER, LIST ID USAGE 00b (hold)
        BinaryPrimitives.WriteUInt16BigEndian(list.AsSpan(2), 64);
        BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(8), 28);
        Cscd(list.AsSpan(16), source);
        Cscd(list.AsSpan(48), destination);
        Span<byte> segment = list.AsSpan(80);
        segment[0] = 0x02;
        BinaryPrimitives.WriteUInt16BigEndian(segment[2..], 0x18);
        BinaryPrimitives.WriteUInt16BigEndian(segment[4..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(segment[6..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(segment[10..], 8);
        BinaryPrimitives.WriteUInt64BigEndian(segment[12..], 0);
        BinaryPrimitives.WriteUInt64BigEndian(segment[20..], 100);

        ScsiTask copy = Run(target, [0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte)list.Length, 0, 0], list);
        ScsiAssert.Good(copy);
        byte[] copied = new byte[data.Length];
        destinationDevice.ReadAsync(100 * 512, copied, default).Now();
        Assert.Equal(data, copied);

        ScsiTask status = Run(target, [0x84, 0x00, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], null);
        ScsiAssert.Good(status);
        Assert.Equal(0x01, status.DataIn.Span[4]);
        Assert.Equal(4096u, BinaryPrimitives.ReadUInt32BigEndian(status.DataIn.Span[8..]));
        // Held status is handed out once.
        ScsiAssert.Check(Run(target, [0x84, 0x00, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], null), SenseKey.IllegalRequest, 0x24, 0x00);
    }

    private static void Cscd(Span<byte> cscd, LogicalUnit unit)
    {
        cscd[0] = 0xE4;
        cscd[4] = 0x01;
        cscd[5] = 0x03;
        cscd[7] = 16;
        unit.Identity.NaaDesignator.Span.CopyTo(cscd[8..]);
        cscd[30] = 0x02; // 512-byte blocks
    }

    private static ScsiTask Run(ScsiTargetDevice target, byte[] cdb, byte[]? dataOut)
    {
        var task = new ScsiTask();
        task.SetCdb(cdb);
        task.Nexus = ScsiHarness.NexusFor("iqn.2026-11.io.sds:copier", 1);
        task.DataOut = dataOut;
        task.DataIn = new byte[512];
        task.ExpectedDataTransferLength = (uint)(dataOut?.Length ?? 512);
        Assert.True(target.ExecuteAsync(task).IsCompletedSuccessfully);
        return task;
    }
}
