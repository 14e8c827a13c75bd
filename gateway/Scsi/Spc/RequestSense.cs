using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Scsi.Spc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>REQUEST SENSE, SPC-4 r37 §6.39: reports (and clears) a pending unit attention, else the current state (NO SENSE, or MEDIUM NOT PRESENT).</summary>
internal static class RequestSense
{
    /// <summary>Returns fixed-format sense data as parameter data with GOOD status.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        // DESC = 1 asks for descriptor format, which this device server does not implement.
        if ((cdb[1] & 0x01) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1, 0));
        SenseData report;
        if (!unit.IsPresent) report = Sense.LogicalUnitNotSupported;
        // SPC-4 r37 §6.39: with nothing pending, the sense data describes the logical unit's
        // current state, so an ejected removable medium reads as NOT READY, MEDIUM NOT PRESENT.
        else if (!unit.UnitAttentions.TryTake(task.Nexus, out report))
            report = unit.Removable && !unit.Medium.Present ? Sense.MediumNotPresent : Sense.NoSense;
        Span<byte> buffer = stackalloc byte[SenseEncoder.FixedLengthBytes];
        int length = SenseEncoder.WriteFixed(report, buffer);
        return CommandResult.DataIn(task, buffer[..length], cdb[4]);
    }
}
