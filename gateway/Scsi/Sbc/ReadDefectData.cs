using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Sbc;

/// <summary>
/// READ DEFECT DATA (10) and (12), SBC-3 r36 §5.17–5.18: a virtual disk has no defects, so the
/// header echoes the requested lists and format with an empty list.
/// </summary>
internal static class ReadDefectData
{
    /// <summary>Returns an empty defect list.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        Span<byte> response = stackalloc byte[8];
        response.Clear();
        if (cdb[0] == (byte)ScsiOpcode.ReadDefectData10)
        {
            // Byte 2: REQ_PLIST, REQ_GLIST, DEFECT LIST FORMAT → PLISTV, GLISTV, format in byte 1.
            response[1] = (byte)(cdb[2] & 0x1F);
            return CommandResult.DataIn(task, response[..4], BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]));
        }
        response[1] = (byte)(cdb[1] & 0x1F);
        return CommandResult.DataIn(task, response, (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]), int.MaxValue));
    }
}
