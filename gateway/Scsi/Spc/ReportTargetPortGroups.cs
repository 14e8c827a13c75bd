using System.Buffers;
using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Spc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// REPORT TARGET PORT GROUPS (MAINTENANCE IN, service action 0Ah), SPC-4 r37 §6.37: implicit
/// ALUA, one group per gateway, every group active/optimized (DESIGN.md §6).
/// </summary>
internal static class ReportTargetPortGroups
{
    /// <summary>Lists the groups from the target device's <see cref="ITargetPortGroupProvider"/>.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        int format = cdb[1] >> 5;
        if (format > 1) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1, 7));
        int allocationLength = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]), int.MaxValue);
        IReadOnlyList<TargetPortGroup> groups = unit.Target!.PortGroups.GetTargetPortGroups(task.Nexus);
        int headerBytes = format == 1 ? 8 : 4;
        int length = headerBytes;
        foreach (TargetPortGroup group in groups) length += 8 + 4 * Math.Min(group.RelativeTargetPortIds.Count, 255);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Span<byte> response = buffer.AsSpan(0, length);
            response.Clear();
            BinaryPrimitives.WriteUInt32BigEndian(response, (uint)(length - 4));
            if (format == 1)
            {
                response[4] = 0x10; // FORMAT TYPE 001b
                response[5] = 0;    // IMPLICIT TRANSITION TIME: none
            }
            int at = headerBytes;
            foreach (TargetPortGroup group in groups)
            {
                int ports = Math.Min(group.RelativeTargetPortIds.Count, 255);
                response[at] = (byte)(0x80 | (byte)group.State); // PREF: every gateway is preferred
                response[at + 1] = 0x80 | 0x08 | 0x04 | 0x02 | 0x01; // T_SUP, U_SUP, S_SUP, AN_SUP, AO_SUP
                BinaryPrimitives.WriteUInt16BigEndian(response[(at + 2)..], group.Id);
                response[at + 7] = (byte)ports;
                at += 8;
                for (int i = 0; i < ports; i++)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(response[(at + 2)..], group.RelativeTargetPortIds[i]);
                    at += 4;
                }
            }
            return CommandResult.DataIn(task, response, allocationLength);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
