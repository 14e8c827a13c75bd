using System.Buffers;
using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Spc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>REPORT LUNS, SPC-4 r37 §6.33: the LUN inventory, served on any LUN.</summary>
internal static class ReportLuns
{
    /// <summary>Lists every logical unit of the target device.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        byte selectReport = cdb[2];
        // 00h all LUNs, 01h well-known only (none here), 02h all; nothing else is defined in SPC-4.
        if (selectReport > 0x02) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(2));
        uint allocationLength = BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]);
        if (allocationLength < 16) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(6));

        ScsiTargetDevice target = unit.Target!;
        int count = 0;
        if (selectReport != 0x01)
            foreach (LogicalUnit _ in target.LogicalUnits) count++;
        int length = 8 + 8 * count;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Span<byte> response = buffer.AsSpan(0, length);
            response[..8].Clear();
            BinaryPrimitives.WriteUInt32BigEndian(response, (uint)(8 * count));
            int at = 8;
            if (selectReport != 0x01)
            {
                foreach (LogicalUnit each in target.LogicalUnits)
                {
                    if (at + 8 > length) break;
                    LunAddress.Encode(each.Lun, response[at..]);
                    at += 8;
                }
            }
            return CommandResult.DataIn(task, response, (int)Math.Min(allocationLength, int.MaxValue));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
