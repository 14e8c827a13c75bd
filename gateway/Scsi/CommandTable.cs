using Sds.Gateway.Scsi.Reservations;
using Sds.Gateway.Scsi.Sbc;
using Sds.Gateway.Scsi.Spc;
using SenseCatalog = Sds.Gateway.Scsi.Sense.Sense;

namespace Sds.Gateway.Scsi;

/// <summary>
/// The dispatch table: a <see cref="CommandDescriptor"/>[256] indexed by CDB byte 0, built once per
/// device type (tgt's <c>sbc_template.ops[]</c>). Gaps point to <see cref="IllegalOpcodeHandler"/>.
/// The same rows answer REPORT SUPPORTED OPERATION CODES; there is no second opcode switch.
/// </summary>
internal sealed class CommandTable
{
    /// <summary>Gap filler: SPC-4 r37 §4.5.2 ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE.</summary>
    public static readonly CommandHandler IllegalOpcodeHandler = static (_, task) => CommandResult.Check(task, SenseCatalog.InvalidCommandOperationCode);

    /// <summary>Unknown service action of a known opcode: INVALID FIELD IN CDB pointing at the SERVICE ACTION field.</summary>
    public static readonly CommandHandler InvalidServiceActionHandler = static (_, task) => CommandResult.Check(task, SenseCatalog.InvalidFieldInCdbAt(1, 4));

    private readonly CommandDescriptor[] _rows = new CommandDescriptor[256];

    /// <summary>The table of an SBC-3 direct-access block device.</summary>
    public static CommandTable DirectAccess { get; } = BuildDirectAccess();

    private CommandTable()
    {
        for (int opcode = 0; opcode < _rows.Length; opcode++)
            _rows[opcode] = new CommandDescriptor("(unsupported)", (ScsiOpcode)opcode, 1, IllegalOpcodeHandler, CommandFlags.None, PrAccess.Allowed);
    }

    /// <summary>The row for <paramref name="opcode"/> (never null: unsupported opcodes have a gap row).</summary>
    public CommandDescriptor this[byte opcode] => _rows[opcode];

    /// <summary>Supported rows in opcode order, service actions expanded (REPORT SUPPORTED OPERATION CODES).</summary>
    public IEnumerable<CommandDescriptor> Supported
    {
        get
        {
            foreach (CommandDescriptor row in _rows)
            {
                if (row.ServiceActions is { } actions)
                {
                    foreach (CommandDescriptor? action in actions)
                        if (action is not null) yield return action;
                }
                else if (row.IsSupported)
                {
                    yield return row;
                }
            }
        }
    }

    private void Add(CommandDescriptor row)
    {
        Block.Invariant.Assert(!_rows[(byte)row.Opcode].IsSupported && _rows[(byte)row.Opcode].ServiceActions is null, "one row per opcode");
        _rows[(byte)row.Opcode] = row;
    }

    // PR IN is allowed under every reservation type (SPC-4 r37 table 48) but not under an SPC-2 reservation.
    private static CommandDescriptor PrIn(string name, ushort action) =>
        new("PERSISTENT RESERVE IN " + name, ScsiOpcode.PersistentReserveIn, 10, PersistentReserveIn.Execute, CommandFlags.AllowedWithoutMedium, PrAccess.Allowed, action);

    private static CommandDescriptor PrOut(string name, ushort action) =>
        new("PERSISTENT RESERVE OUT " + name, ScsiOpcode.PersistentReserveOut, 10, PersistentReserveOut.Execute, CommandFlags.AllowedWithoutMedium, PrAccess.Allowed, action);

    private static CommandTable BuildDirectAccess()
    {
        // noMedium: commands that do not touch the medium, so they run while a removable medium is ejected.
        const CommandFlags noMedium = CommandFlags.AllowedWithoutMedium;
        const CommandFlags anyLun = CommandFlags.ServedWithoutLogicalUnit | CommandFlags.AllowedUnderUnitAttention | CommandFlags.AllowedUnderSpc2Reservation | noMedium;
        const CommandFlags writes = CommandFlags.WritesMedium;
        const CommandFlags spc2Ok = CommandFlags.AllowedUnderSpc2Reservation | noMedium;
        var table = new CommandTable();

        /* 0x00 */
        table.Add(new("TEST UNIT READY", ScsiOpcode.TestUnitReady, 6, TestUnitReady.Execute, CommandFlags.None, PrAccess.Allowed));
        table.Add(new("REQUEST SENSE", ScsiOpcode.RequestSense, 6, RequestSense.Execute, anyLun, PrAccess.Allowed));
        table.Add(new("READ(6)", ScsiOpcode.Read6, 6, ReadWrite.Read, CommandFlags.None, PrAccess.Read));
        table.Add(new("WRITE(6)", ScsiOpcode.Write6, 6, ReadWrite.Write, writes, PrAccess.Write));
        /* 0x10 */
        table.Add(new("INQUIRY", ScsiOpcode.Inquiry, 6, Inquiry.Execute, anyLun, PrAccess.Allowed));
        table.Add(new("MODE SELECT(6)", ScsiOpcode.ModeSelect6, 6, ModeSelect.Execute, noMedium, PrAccess.Write));
        table.Add(new("RESERVE(6)", ScsiOpcode.Reserve6, 6, ReserveRelease.Reserve, noMedium, PrAccess.Write));
        table.Add(new("RELEASE(6)", ScsiOpcode.Release6, 6, ReserveRelease.Release, spc2Ok, PrAccess.Write));
        table.Add(new("MODE SENSE(6)", ScsiOpcode.ModeSense6, 6, ModeSense.Execute, noMedium, PrAccess.Read));
        table.Add(new("START STOP UNIT", ScsiOpcode.StartStopUnit, 6, StartStopUnit.Execute, noMedium, PrAccess.Write));
        table.Add(new("PREVENT ALLOW MEDIUM REMOVAL", ScsiOpcode.PreventAllowMediumRemoval, 6, PreventAllowMediumRemoval.Execute, noMedium, PrAccess.Read));
        /* 0x20 */
        table.Add(new("READ CAPACITY(10)", ScsiOpcode.ReadCapacity10, 10, ReadCapacity.Execute10, CommandFlags.None, PrAccess.Allowed));
        table.Add(new("READ(10)", ScsiOpcode.Read10, 10, ReadWrite.Read, CommandFlags.None, PrAccess.Read));
        table.Add(new("WRITE(10)", ScsiOpcode.Write10, 10, ReadWrite.Write, writes, PrAccess.Write));
        table.Add(new("WRITE AND VERIFY(10)", ScsiOpcode.WriteAndVerify10, 10, Verify.ExecuteWriteAndVerify, writes, PrAccess.Write));
        table.Add(new("VERIFY(10)", ScsiOpcode.Verify10, 10, Verify.ExecuteVerify, CommandFlags.None, PrAccess.Read));
        /* 0x30 */
        table.Add(new("PRE-FETCH(10)", ScsiOpcode.PreFetch10, 10, PreFetch.Execute, CommandFlags.None, PrAccess.Read));
        table.Add(new("SYNCHRONIZE CACHE(10)", ScsiOpcode.SynchronizeCache10, 10, SynchronizeCache.Execute, CommandFlags.None, PrAccess.Write));
        table.Add(new("READ DEFECT DATA(10)", ScsiOpcode.ReadDefectData10, 10, ReadDefectData.Execute, CommandFlags.None, PrAccess.Read));
        /* 0x40 */
        table.Add(new("WRITE SAME(10)", ScsiOpcode.WriteSame10, 10, WriteSame.Execute, writes, PrAccess.Write));
        table.Add(new("UNMAP", ScsiOpcode.Unmap, 10, Unmap.Execute, writes, PrAccess.Write));
        /* 0x50 */
        table.Add(new("MODE SELECT(10)", ScsiOpcode.ModeSelect10, 10, ModeSelect.Execute, noMedium, PrAccess.Write));
        table.Add(new("RESERVE(10)", ScsiOpcode.Reserve10, 10, ReserveRelease.Reserve, noMedium, PrAccess.Write));
        table.Add(new("RELEASE(10)", ScsiOpcode.Release10, 10, ReserveRelease.Release, spc2Ok, PrAccess.Write));
        table.Add(new("MODE SENSE(10)", ScsiOpcode.ModeSense10, 10, ModeSense.Execute, noMedium, PrAccess.Read));
        table.Add(CommandDescriptor.WithServiceActions("PERSISTENT RESERVE IN", ScsiOpcode.PersistentReserveIn, 10,
            PrIn("READ KEYS", 0x00), PrIn("READ RESERVATION", 0x01), PrIn("REPORT CAPABILITIES", 0x02), PrIn("READ FULL STATUS", 0x03)));
        table.Add(CommandDescriptor.WithServiceActions("PERSISTENT RESERVE OUT", ScsiOpcode.PersistentReserveOut, 10,
            PrOut("REGISTER", 0x00), PrOut("RESERVE", 0x01), PrOut("RELEASE", 0x02), PrOut("CLEAR", 0x03),
            PrOut("PREEMPT", 0x04), PrOut("PREEMPT AND ABORT", 0x05), PrOut("REGISTER AND IGNORE EXISTING KEY", 0x06), PrOut("REGISTER AND MOVE", 0x07)));
        /* 0x80 */
        table.Add(CommandDescriptor.WithServiceActions("EXTENDED COPY", ScsiOpcode.ExtendedCopy, 16,
            new CommandDescriptor("EXTENDED COPY(LID1)", ScsiOpcode.ExtendedCopy, 16, ExtendedCopy.Execute, CommandFlags.None, PrAccess.Write, serviceAction: 0x00)));
        table.Add(CommandDescriptor.WithServiceActions("RECEIVE COPY RESULTS", ScsiOpcode.ReceiveCopyResults, 16,
            new CommandDescriptor("RECEIVE COPY RESULTS COPY STATUS(LID1)", ScsiOpcode.ReceiveCopyResults, 16, ReceiveCopyResults.CopyStatus, CommandFlags.AllowedWithoutMedium, PrAccess.Read, serviceAction: 0x00),
            new CommandDescriptor("RECEIVE COPY RESULTS OPERATING PARAMETERS", ScsiOpcode.ReceiveCopyResults, 16, ReceiveCopyResults.OperatingParameters, CommandFlags.AllowedWithoutMedium, PrAccess.Read, serviceAction: 0x03)));
        table.Add(new("READ(16)", ScsiOpcode.Read16, 16, ReadWrite.Read, CommandFlags.None, PrAccess.Read));
        table.Add(new("COMPARE AND WRITE", ScsiOpcode.CompareAndWrite, 16, CompareAndWrite.Execute, writes, PrAccess.Write));
        table.Add(new("WRITE(16)", ScsiOpcode.Write16, 16, ReadWrite.Write, writes, PrAccess.Write));
        table.Add(new("ORWRITE(16)", ScsiOpcode.OrWrite16, 16, OrWrite.Execute, writes, PrAccess.Write));
        table.Add(new("WRITE AND VERIFY(16)", ScsiOpcode.WriteAndVerify16, 16, Verify.ExecuteWriteAndVerify, writes, PrAccess.Write));
        table.Add(new("VERIFY(16)", ScsiOpcode.Verify16, 16, Verify.ExecuteVerify, CommandFlags.None, PrAccess.Read));
        /* 0x90 */
        table.Add(new("PRE-FETCH(16)", ScsiOpcode.PreFetch16, 16, PreFetch.Execute, CommandFlags.None, PrAccess.Read));
        table.Add(new("SYNCHRONIZE CACHE(16)", ScsiOpcode.SynchronizeCache16, 16, SynchronizeCache.Execute, CommandFlags.None, PrAccess.Write));
        table.Add(new("WRITE SAME(16)", ScsiOpcode.WriteSame16, 16, WriteSame.Execute, writes, PrAccess.Write));
        table.Add(new("WRITE ATOMIC(16)", ScsiOpcode.WriteAtomic16, 16, WriteAtomic.Execute, writes, PrAccess.Write,
            deviceSupports: static device => device.AtomicWriteBytesMax > 0));
        table.Add(CommandDescriptor.WithServiceActions("SERVICE ACTION IN(16)", ScsiOpcode.ServiceActionIn16, 16,
            new CommandDescriptor("READ CAPACITY(16)", ScsiOpcode.ServiceActionIn16, 16, ReadCapacity.Execute16, CommandFlags.None, PrAccess.Allowed, serviceAction: 0x10),
            new CommandDescriptor("GET LBA STATUS", ScsiOpcode.ServiceActionIn16, 16, GetLbaStatus.Execute, CommandFlags.None, PrAccess.Read, serviceAction: 0x12)));
        /* 0xA0 */
        table.Add(new("REPORT LUNS", ScsiOpcode.ReportLuns, 12, ReportLuns.Execute, anyLun, PrAccess.Allowed));
        table.Add(CommandDescriptor.WithServiceActions("MAINTENANCE IN", ScsiOpcode.MaintenanceIn, 12,
            new CommandDescriptor("REPORT TARGET PORT GROUPS", ScsiOpcode.MaintenanceIn, 12, ReportTargetPortGroups.Execute, spc2Ok, PrAccess.Allowed, serviceAction: 0x0A),
            new CommandDescriptor("REPORT SUPPORTED OPERATION CODES", ScsiOpcode.MaintenanceIn, 12, ReportSupportedOperationCodes.Execute, spc2Ok, PrAccess.Allowed, serviceAction: 0x0C),
            new CommandDescriptor("REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS", ScsiOpcode.MaintenanceIn, 12, ReportSupportedTaskManagementFunctions.Execute, spc2Ok, PrAccess.Allowed, serviceAction: 0x0D)));
        table.Add(new("READ(12)", ScsiOpcode.Read12, 12, ReadWrite.Read, CommandFlags.None, PrAccess.Read));
        table.Add(new("WRITE(12)", ScsiOpcode.Write12, 12, ReadWrite.Write, writes, PrAccess.Write));
        table.Add(new("WRITE AND VERIFY(12)", ScsiOpcode.WriteAndVerify12, 12, Verify.ExecuteWriteAndVerify, writes, PrAccess.Write));
        table.Add(new("VERIFY(12)", ScsiOpcode.Verify12, 12, Verify.ExecuteVerify, CommandFlags.None, PrAccess.Read));
        /* 0xB0 */
        table.Add(new("READ DEFECT DATA(12)", ScsiOpcode.ReadDefectData12, 12, ReadDefectData.Execute, CommandFlags.None, PrAccess.Read));
        return table;
    }
}
