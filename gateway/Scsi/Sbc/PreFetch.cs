using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// PRE-FETCH (10) and (16), SBC-3 r36 §5.12–5.13. The block device has no cache of its own to
/// fill (the file device uses the page cache), so the command checks the range and reports that
/// the blocks fit: CONDITION MET (SBC-3 r36 §5.12: "if the specified logical blocks were
/// successfully transferred to the cache").
/// </summary>
internal static class PreFetch
{
    /// <summary>Range check, then CONDITION MET.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        bool sixteen = cdb[0] == (byte)ScsiOpcode.PreFetch16;
        // Only IMMED (bit 1) is defined in byte 1.
        if ((cdb[1] & 0xFD) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1));
        ulong lba = sixteen ? BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]) : BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]);
        ulong blocks = sixteen ? BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]) : BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
        if (!unit.InRange(lba, blocks)) return CommandResult.Check(task, Sense.LbaOutOfRange);
        return new(ScsiStatus.ConditionMet);
    }
}
