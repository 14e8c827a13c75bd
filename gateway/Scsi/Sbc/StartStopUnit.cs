namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// START STOP UNIT, SBC-3 r36 §5.20. A virtual disk has no spindle and no removable medium: the
/// unit stays ready, power conditions are accepted and ignored, and LOEJ (eject) is refused
/// because RMB is zero in the standard INQUIRY data.
/// </summary>
internal static class StartStopUnit
{
    /// <summary>Accepts START/STOP and power conditions; refuses eject.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        if ((cdb[1] & 0xFE) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1));
        byte powerCondition = (byte)(cdb[4] >> 4);
        // POWER CONDITION codes defined by SBC-3 r36 table 52: 0h, 1h, 2h, 3h, 7h, Ah, Bh.
        if (powerCondition is not (0x0 or 0x1 or 0x2 or 0x3 or 0x7 or 0xA or 0xB))
            return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(4, 7));
        if (powerCondition == 0 && (cdb[4] & 0x02) != 0)
            return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(4, 1));
        return CommandResult.Good;
    }
}
