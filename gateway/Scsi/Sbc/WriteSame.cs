using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// WRITE SAME (10) and (16), SBC-3 r36 §5.41–5.42, with UNMAP, ANCHOR and (16 only) NDOB. One
/// device operation per command, so a cluster device can make it one Raft command.
/// </summary>
/// <remarks>
/// ANCHOR: this device server has no separate anchored state; an anchor request writes zeros in
/// place, which keeps the blocks allocated and reading zeros (what an anchored LBA promises).
/// </remarks>
internal static class WriteSame
{
    /// <summary>Validates flags, range and Data-Out size, then writes, zeros or deallocates.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        bool sixteen = cdb[0] == (byte)ScsiOpcode.WriteSame16;
        byte flags = cdb[1];
        ulong lba = sixteen ? BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]) : BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]);
        ulong blocks = sixteen ? BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]) : BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
        bool anchor = (flags & 0x10) != 0;
        bool unmap = (flags & 0x08) != 0;
        bool noDataOut = sixteen && (flags & 0x01) != 0;

        if ((flags & 0xE0) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1, 7));
        // PBDATA/LBDATA (bits 2:1) ask for generated block data this device does not produce.
        if ((flags & 0x06) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1, (flags & 0x04) != 0 ? 2 : 1));
        // SBC-3 r36 §5.42: ANCHOR without UNMAP is invalid.
        if (anchor && !unmap) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1, 4));
        if (!unit.InRange(lba, blocks)) return CommandResult.Check(task, Sense.LbaOutOfRange);
        // NUMBER OF LOGICAL BLOCKS 0 means "through the last LBA" (WSNZ = 0 in the Block Limits page).
        if (blocks == 0) blocks = unit.BlockCount - lba;
        if (blocks > BlockLimits.MaximumWriteSameBlocks)
            return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(sixteen ? 10 : 7));

        int blockBytes = unit.BlockSizeBytes;
        if (!noDataOut)
        {
            task.CdbTransferLength = (uint)blockBytes;
            if (task.ExpectedDataTransferLength != blockBytes || task.DataOut.Length != blockBytes)
                return CommandResult.Check(task, Sense.InvalidFieldInCommandInformationUnit);
        }
        // SBC-3 r36 §4.7.3.5: with UNMAP the device server may deallocate instead of writing. It does
        // so whatever the pattern (as Linux LIO does); LBPRZ then makes the range read as zeros.
        bool deallocate = unmap && !anchor && unit.Device.SupportsUnmap;
        ReadOnlyMemory<byte> pattern = noDataOut || anchor || deallocate ? ZeroBlock(blockBytes) : task.DataOut;
        long offsetBytes = (long)(lba << unit.BlockSizeShift);
        long lengthBytes = (long)(blocks << unit.BlockSizeShift);
        return CommandResult.FromBlock(task,
            unit.Device.WriteSameAsync(offsetBytes, lengthBytes, pattern, deallocate, task.CancellationToken), writing: true);
    }

    private static readonly byte[] s_zeros4096 = new byte[4096];

    private static ReadOnlyMemory<byte> ZeroBlock(int blockBytes) => s_zeros4096.AsMemory(0, blockBytes);
}
