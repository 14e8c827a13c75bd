using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// WRITE ATOMIC (16), SBC-4 r15 §5.48: a write the device performs all-or-nothing. Offered only
/// when the backing store promises atomicity (<see cref="Block.IBlockDevice.AtomicWriteBytesMax"/>);
/// the command table hides it otherwise. ATOMIC BOUNDARY is not supported (must be 0).
/// </summary>
internal static class WriteAtomic
{
    /// <summary>MAXIMUM ATOMIC TRANSFER LENGTH in blocks for <paramref name="unit"/> (0 = not supported).</summary>
    public static uint MaximumBlocks(LogicalUnit unit) =>
        (uint)Math.Min(unit.Device.AtomicWriteBytesMax, BlockLimits.MaximumTransferBytes) >> unit.BlockSizeShift;

    /// <summary>Validates and writes as one device operation.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        byte flags = cdb[1];
        if ((flags & 0xE0) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1, 7));
        ulong lba = BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]);
        if (BinaryPrimitives.ReadUInt16BigEndian(cdb[10..]) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(10));
        uint blocks = BinaryPrimitives.ReadUInt16BigEndian(cdb[12..]);
        if (!unit.InRange(lba, blocks)) return CommandResult.Check(task, Sense.LbaOutOfRange);
        if (blocks > MaximumBlocks(unit)) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(12));
        int transferBytes = (int)(blocks << unit.BlockSizeShift);
        task.CdbTransferLength = (uint)transferBytes;
        if (transferBytes == 0) return CommandResult.Good;
        // Atomic means all of it: a short Data-Out cannot be written in part.
        if (task.DataOut.Length < transferBytes) return CommandResult.Check(task, Sense.InvalidFieldInCommandInformationUnit);
        bool fua = (flags & 0x08) != 0 || unit.WriteThrough;
        return CommandResult.FromBlock(task,
            unit.Device.WriteAtomicAsync((long)(lba << unit.BlockSizeShift), task.DataOut[..transferBytes], fua, task.CancellationToken), writing: true);
    }
}
