using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Spc;

/// <summary>
/// REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (MAINTENANCE IN, service action 0Dh), SPC-4 r37
/// §6.36: ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET, TARGET RESET.
/// </summary>
internal static class ReportSupportedTaskManagementFunctions
{
    /// <summary>Returns the 4-byte (or 16-byte extended, REPD) parameter data.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        bool extended = (cdb[2] & 0x80) != 0;
        Span<byte> response = stackalloc byte[16];
        response.Clear();
        // ATS, ATSS, CTSS, LURS, TRS.
        response[0] = 0x80 | 0x40 | 0x10 | 0x08 | 0x02;
        if (extended) response[3] = 0x0C;
        return CommandResult.DataIn(task, response[..(extended ? 16 : 4)], (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]), int.MaxValue));
    }
}
