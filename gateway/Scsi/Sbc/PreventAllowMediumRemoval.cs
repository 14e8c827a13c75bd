namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// PREVENT ALLOW MEDIUM REMOVAL, SBC-3 r36 §5.14. The medium is not removable, so prevention has
/// nothing to lock; PREVENT 00b/01b are accepted, the obsolete/reserved codes are invalid.
/// </summary>
internal static class PreventAllowMediumRemoval
{
    /// <summary>GOOD for PREVENT 0 or 1.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task) =>
        (task.Cdb[4] & 0x03) > 1 ? CommandResult.Check(task, Sense.InvalidFieldInCdbAt(4, 1)) : CommandResult.Good;
}
