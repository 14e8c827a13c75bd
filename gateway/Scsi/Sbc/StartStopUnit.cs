namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// START STOP UNIT, SBC-3 r36 §5.20. A virtual disk has no spindle: START/STOP and power
/// conditions are accepted and change nothing. LOEJ ejects (START = 0) or loads (START = 1) the
/// medium of a removable logical unit (RMB = 1); on a fixed one LOEJ is refused.
/// </summary>
internal static class StartStopUnit
{
    /// <summary>Validates the CDB, then ejects or loads a removable medium when LOEJ is set.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        if ((cdb[1] & 0xFE) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1));
        byte powerCondition = (byte)(cdb[4] >> 4);
        // POWER CONDITION codes defined by SBC-3 r36 table 52: 0h, 1h, 2h, 3h, 7h, Ah, Bh.
        if (powerCondition is not (0x0 or 0x1 or 0x2 or 0x3 or 0x7 or 0xA or 0xB))
            return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(4, 7));
        // A POWER CONDITION other than 0h makes the device server ignore START and LOEJ.
        bool loadEject = powerCondition == 0 && (cdb[4] & 0x02) != 0;
        if (!loadEject) return CommandResult.Good;
        if (!unit.Removable) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(4, 1));
        bool load = (cdb[4] & 0x01) != 0;
        // SBC-3 r36 §5.14: while any I_T nexus prevents medium removal, an eject ends in ILLEGAL
        // REQUEST, MEDIUM REMOVAL PREVENTED. The standard is silent on a load; like a locked tray
        // (and tgt's removable LUs) the mechanism does not move either way while prevented.
        // IMMED changes nothing: the change is complete when the status is sent.
        // No NOT READY TO READY CHANGE unit attention follows a load: the reloaded medium is the
        // same backing store, so it cannot have changed (SPC-4 r37 §5.14 "medium may have changed").
        // On a cluster gateway the change is one meta command, answered once every live gateway holds it, so a
        // READ through another gateway right after an eject already finds the medium gone (DESIGN.md §6).
        ValueTask<MediumChange> change = unit.Medium.ChangeAsync(task.Nexus, load);
        return change.IsCompletedSuccessfully
            ? PreventAllowMediumRemoval.ToStatus(task, change.Result)
            : PreventAllowMediumRemoval.AwaitChange(change, task);
    }
}
