namespace Sds.Gateway.Scsi.Spc;

/// <summary>TEST UNIT READY, SPC-4 r37 §6.47: the unit is always ready once it exists.</summary>
internal static class TestUnitReady
{
    /// <summary>GOOD (unit attention and reservations were handled by the dispatcher).</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task) => CommandResult.Good;
}
