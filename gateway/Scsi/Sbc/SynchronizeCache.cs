using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>SYNCHRONIZE CACHE (10) and (16), SBC-3 r36 §5.22–5.23: makes completed writes durable.</summary>
internal static class SynchronizeCache
{
    /// <summary>Checks the range and flushes the whole device (a range flush is never cheaper here).</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        ulong lba;
        ulong blocks;
        if (cdb[0] == (byte)ScsiOpcode.SynchronizeCache10)
        {
            lba = BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]);
            blocks = BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
        }
        else
        {
            lba = BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]);
            blocks = BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]);
        }
        // NUMBER OF LOGICAL BLOCKS 0 means "to the end of the medium".
        if (!unit.InRange(lba, blocks)) return CommandResult.Check(task, Sense.LbaOutOfRange);
        return CommandResult.FromBlock(task, unit.Device.FlushAsync(task.CancellationToken), writing: true);
    }
}
