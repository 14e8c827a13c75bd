using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>READ CAPACITY (10) and (16), SBC-3 r36 §5.15–5.16.</summary>
internal static class ReadCapacity
{
    /// <summary>READ CAPACITY (10): last LBA (FFFFFFFFh when it does not fit) and block length.</summary>
    public static ValueTask<ScsiStatus> Execute10(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        // SBC-3 r36 §5.15: with PMI = 0 the LOGICAL BLOCK ADDRESS field must be zero.
        if ((cdb[8] & 0x01) == 0 && BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]) != 0)
            return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(2));
        Span<byte> response = stackalloc byte[8];
        ulong lastLba = unit.BlockCount == 0 ? 0 : unit.BlockCount - 1;
        BinaryPrimitives.WriteUInt32BigEndian(response, lastLba > uint.MaxValue ? uint.MaxValue : (uint)lastLba);
        BinaryPrimitives.WriteUInt32BigEndian(response[4..], (uint)unit.BlockSizeBytes);
        return CommandResult.DataIn(task, response, response.Length);
    }

    /// <summary>READ CAPACITY (16): adds physical block exponent and the thin provisioning bits.</summary>
    public static ValueTask<ScsiStatus> Execute16(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        if ((cdb[14] & 0x01) == 0 && BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]) != 0)
            return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(2));
        int allocationLength = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]), int.MaxValue);
        Span<byte> response = stackalloc byte[32];
        response.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(response, unit.BlockCount == 0 ? 0 : unit.BlockCount - 1);
        BinaryPrimitives.WriteUInt32BigEndian(response[8..], (uint)unit.BlockSizeBytes);
        // LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT: the provisioning unit (4 KiB file-system
        // blocks, 4 KiB memory chunks) is the physical block an initiator should align to.
        int physical = Math.Max(unit.Device.ProvisioningGranularityBytes, unit.BlockSizeBytes);
        response[13] = (byte)System.Numerics.BitOperations.Log2((uint)(physical / unit.BlockSizeBytes));
        // LBPME: logical block provisioning management enabled; LBPRZ: deallocated blocks read zeros.
        if (unit.Device.SupportsUnmap) response[14] = 0x80 | 0x40;
        return CommandResult.DataIn(task, response, allocationLength);
    }
}
