using System.Buffers.Binary;
using System.Text;
using Sds.Gateway.Scsi.Sbc;

namespace Sds.Gateway.Scsi.Spc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// INQUIRY, SPC-4 r37 §6.6: standard data and the vital product data pages 00h, 80h, 83h (SPC-4
/// r37 §7.8) and B0h, B1h, B2h (SBC-3 r36 §6.5). Every field derives from the logical unit's
/// identity, so all gateways answer byte-for-byte alike except for the target port designators.
/// </summary>
internal static class Inquiry
{
    /// <summary>Length of the standard INQUIRY data we return.</summary>
    public const int StandardLengthBytes = 96;

    private const int ResponseBytesMax = 1024;

    /// <summary>The VPD pages supported, in ascending order (SPC-4 r37 §7.8.15).</summary>
    public static ReadOnlySpan<byte> SupportedPages => [0x00, 0x80, 0x83, 0x8F, 0xB0, 0xB1, 0xB2];

    /// <summary>Serves standard data or one VPD page.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        bool evpd = (cdb[1] & 0x01) != 0;
        // CMDDT (bit 1) is obsolete; it and the reserved bits must be zero.
        if ((cdb[1] & 0xFE) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1, (cdb[1] & 0x02) != 0 ? 1 : 7));
        byte pageCode = cdb[2];
        if (!evpd && pageCode != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(2));
        int allocationLength = BinaryPrimitives.ReadUInt16BigEndian(cdb[3..]);

        Span<byte> response = stackalloc byte[ResponseBytesMax];
        response.Clear();
        int length;
        if (!evpd)
        {
            length = WriteStandard(unit, response);
        }
        else
        {
            if (!unit.IsPresent) return CommandResult.Check(task, Sense.LogicalUnitNotSupported);
            length = pageCode switch
            {
                0x00 => WriteSupportedPages(response),
                0x80 => WriteUnitSerialNumber(unit, response),
                0x83 => WriteDeviceIdentification(unit, task.Nexus, response),
                0x8F => WriteThirdPartyCopy(response),
                0xB0 => WriteBlockLimits(unit, response),
                0xB1 => WriteBlockDeviceCharacteristics(response),
                0xB2 => WriteLogicalBlockProvisioning(unit, response),
                _ => -1,
            };
            if (length < 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(2));
        }
        return CommandResult.DataIn(task, response[..length], allocationLength);
    }

    private static int WriteStandard(LogicalUnit unit, Span<byte> response)
    {
        // PERIPHERAL QUALIFIER 011b + type 1Fh: no logical unit at this LUN (SPC-4 r37 §6.6.2).
        response[0] = unit.IsPresent ? (byte)0x00 : (byte)0x7F;
        // RMB: the medium can be ejected with START STOP UNIT (only LUs built removable).
        if (unit.Removable) response[1] = 0x80;
        response[2] = 0x06; // VERSION: SPC-4
        response[3] = 0x12; // HISUP, RESPONSE DATA FORMAT 2
        response[4] = StandardLengthBytes - 5;
        // TPGS 01b: implicit ALUA (SPC-4 r37 §5.16); 3PC: EXTENDED COPY is supported.
        response[5] = (byte)(0x10 | (unit.Target?.Commands[(byte)ScsiOpcode.ExtendedCopy].IsSupported == true ? 0x08 : 0x00));
        response[6] = 0x10; // MULTIP: more than one target port
        response[7] = 0x02; // CMDQUE
        WriteAscii(response.Slice(8, 8), unit.Identity.Vendor);
        WriteAscii(response.Slice(16, 16), unit.Identity.Product);
        WriteAscii(response.Slice(32, 4), unit.Identity.Revision);
        // VERSION DESCRIPTORS (SPC-4 r37 table 144): SAM-5, SPC-4, SBC-3, iSCSI.
        Span<byte> versions = response[58..];
        BinaryPrimitives.WriteUInt16BigEndian(versions, 0x00A0);
        BinaryPrimitives.WriteUInt16BigEndian(versions[2..], 0x0460);
        BinaryPrimitives.WriteUInt16BigEndian(versions[4..], 0x04C0);
        BinaryPrimitives.WriteUInt16BigEndian(versions[6..], 0x0960);
        return StandardLengthBytes;
    }

    private static int WriteSupportedPages(Span<byte> response)
    {
        response[1] = 0x00;
        response[3] = (byte)SupportedPages.Length;
        SupportedPages.CopyTo(response[4..]);
        return 4 + SupportedPages.Length;
    }

    private static int WriteUnitSerialNumber(LogicalUnit unit, Span<byte> response)
    {
        response[1] = 0x80;
        string serial = unit.Identity.SerialNumber;
        response[3] = (byte)serial.Length;
        WriteAscii(response.Slice(4, serial.Length), serial);
        return 4 + serial.Length;
    }

    // SPC-4 r37 §7.8.6: NAA (logical unit), relative target port and target port group (target
    // port), and the SCSI name string of the target port.
    private static int WriteDeviceIdentification(LogicalUnit unit, ITNexus nexus, Span<byte> response)
    {
        response[1] = 0x83;
        int at = 4;
        // NAA: CODE SET binary, ASSOCIATION logical unit, TYPE 3 (NAA), 16 bytes.
        response[at] = 0x01;
        response[at + 1] = 0x03;
        response[at + 3] = 16;
        unit.Identity.NaaDesignator.Span.CopyTo(response[(at + 4)..]);
        at += 20;
        // Relative target port: PROTOCOL IDENTIFIER iSCSI (5), PIV, ASSOCIATION target port, TYPE 4.
        response[at] = 0x51;
        response[at + 1] = 0x94;
        response[at + 3] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(response[(at + 6)..], nexus.RelativeTargetPortId);
        at += 8;
        // Target port group: PIV, ASSOCIATION target port, TYPE 5.
        response[at] = 0x51;
        response[at + 1] = 0x95;
        response[at + 3] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(response[(at + 6)..], nexus.TargetPortGroupId);
        at += 8;
        // SCSI name string of the target port: CODE SET UTF-8, PIV, ASSOCIATION target port, TYPE 8;
        // null terminated and padded to a multiple of 4 (SPC-4 r37 §7.8.6.11).
        string portName = nexus.TargetPortName;
        int nameBytes = Encoding.UTF8.GetByteCount(portName);
        int padded = (nameBytes + 1 + 3) & ~3;
        if (at + 4 + padded <= response.Length && padded <= 255)
        {
            response[at] = 0x53;
            response[at + 1] = 0x98;
            response[at + 3] = (byte)padded;
            Encoding.UTF8.GetBytes(portName, response[(at + 4)..]);
            at += 4 + padded;
        }
        BinaryPrimitives.WriteUInt16BigEndian(response[2..], (ushort)(at - 4));
        return at;
    }

    // SPC-4 r37 §7.8.17 Third-party Copy VPD page: Supported Commands (0001h), Parameter Data
    // (0004h) and Supported Descriptors (0008h) third-party copy descriptors.
    private static int WriteThirdPartyCopy(Span<byte> response)
    {
        response[1] = 0x8F;
        int at = 4;
        // Supported Commands: EXTENDED COPY {00h}, RECEIVE COPY RESULTS {00h, 03h}.
        ReadOnlySpan<byte> commands = [0x83, 0x01, 0x00, 0x84, 0x02, 0x00, 0x03];
        int commandsLength = (1 + commands.Length + 3) & ~3;
        BinaryPrimitives.WriteUInt16BigEndian(response[at..], 0x0001);
        BinaryPrimitives.WriteUInt16BigEndian(response[(at + 2)..], (ushort)commandsLength);
        response[at + 4] = (byte)commands.Length;
        commands.CopyTo(response[(at + 5)..]);
        at += 4 + commandsLength;
        // Parameter Data.
        BinaryPrimitives.WriteUInt16BigEndian(response[at..], 0x0004);
        BinaryPrimitives.WriteUInt16BigEndian(response[(at + 2)..], 0x001C);
        BinaryPrimitives.WriteUInt16BigEndian(response[(at + 8)..], CopyManagerLimits.CscdDescriptorsMax);
        BinaryPrimitives.WriteUInt16BigEndian(response[(at + 10)..], CopyManagerLimits.SegmentDescriptorsMax);
        BinaryPrimitives.WriteUInt32BigEndian(response[(at + 12)..], CopyManagerLimits.DescriptorListBytesMax);
        at += 32;
        // Supported Descriptors: block→block segments and identification CSCDs.
        BinaryPrimitives.WriteUInt16BigEndian(response[at..], 0x0008);
        BinaryPrimitives.WriteUInt16BigEndian(response[(at + 2)..], 4);
        response[at + 4] = 2;
        response[at + 5] = CopyManagerLimits.BlockToBlockSegment;
        response[at + 6] = CopyManagerLimits.IdentificationCscd;
        at += 8;
        BinaryPrimitives.WriteUInt16BigEndian(response[2..], (ushort)(at - 4));
        return at;
    }

    private static int WriteBlockLimits(LogicalUnit unit, Span<byte> response)
    {
        response[1] = 0xB0;
        response[3] = 0x3C;
        int shift = unit.BlockSizeShift;
        response[5] = BlockLimits.MaximumCompareAndWriteBlocks;
        int granularityBlocks = Math.Max(1, unit.Device.ProvisioningGranularityBytes >> shift);
        BinaryPrimitives.WriteUInt16BigEndian(response[6..], (ushort)Math.Min(granularityBlocks, ushort.MaxValue));
        BinaryPrimitives.WriteUInt32BigEndian(response[8..], BlockLimits.MaximumTransferBlocks(unit));
        BinaryPrimitives.WriteUInt32BigEndian(response[12..], (uint)(BlockLimits.OptimalTransferBytes >> shift));
        BinaryPrimitives.WriteUInt32BigEndian(response[16..], BlockLimits.MaximumTransferBlocks(unit));
        if (unit.Device.SupportsUnmap)
        {
            BinaryPrimitives.WriteUInt32BigEndian(response[20..], BlockLimits.MaximumUnmapBlocks);
            BinaryPrimitives.WriteUInt32BigEndian(response[24..], BlockLimits.MaximumUnmapDescriptors);
            // OPTIMAL UNMAP GRANULARITY, except on 4096-byte LUs: QEMU (7.2, Debian 12) keeps an allocation map
            // when LBPRZ is set and this granularity is 4 KiB..16 MiB, and then asks block status for
            // BDRV_REQUEST_MAX_BYTES (not a multiple of 4096) and aborts on its own alignment assertion.
            // 0 means "not reported" (SBC-3 r36 §6.5.3), which keeps QEMU off that path.
            if (unit.BlockSizeBytes < 4096) BinaryPrimitives.WriteUInt32BigEndian(response[28..], (uint)granularityBlocks);
            // UGAVALID with UNMAP GRANULARITY ALIGNMENT 0.
            response[32] = 0x80;
        }
        BinaryPrimitives.WriteUInt64BigEndian(response[36..], BlockLimits.MaximumWriteSameBlocks);
        // SBC-4 atomic write limits: MAXIMUM ATOMIC TRANSFER LENGTH, ATOMIC ALIGNMENT 1, GRANULARITY 1.
        uint atomicBlocks = WriteAtomic.MaximumBlocks(unit);
        if (atomicBlocks > 0)
        {
            BinaryPrimitives.WriteUInt32BigEndian(response[44..], atomicBlocks);
            BinaryPrimitives.WriteUInt32BigEndian(response[48..], 1);
            BinaryPrimitives.WriteUInt32BigEndian(response[52..], 1);
        }
        return 64;
    }

    private static int WriteBlockDeviceCharacteristics(Span<byte> response)
    {
        response[1] = 0xB1;
        response[3] = 0x3C;
        BinaryPrimitives.WriteUInt16BigEndian(response[4..], 0x0001); // MEDIUM ROTATION RATE: non-rotating
        return 64;
    }

    private static int WriteLogicalBlockProvisioning(LogicalUnit unit, Span<byte> response)
    {
        response[1] = 0xB2;
        response[3] = 0x04;
        if (unit.Device.SupportsUnmap)
        {
            // LBPU (UNMAP), LBPWS (WRITE SAME(16) with UNMAP), LBPWS10, LBPRZ (deallocated blocks read
            // zeros), ANC_SUP (WRITE SAME with ANCHOR).
            response[5] = 0x80 | 0x40 | 0x20 | 0x04 | 0x02;
            response[6] = 0x02; // PROVISIONING TYPE: thin
        }
        return 8;
    }

    private static void WriteAscii(Span<byte> field, string value)
    {
        field.Fill((byte)' ');
        for (int i = 0; i < value.Length && i < field.Length; i++) field[i] = (byte)value[i];
    }
}
