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

    private static CommandTable BuildDirectAccess()
    {
        const CommandFlags anyLun = CommandFlags.ServedWithoutLogicalUnit | CommandFlags.AllowedUnderUnitAttention | CommandFlags.AllowedUnderSpc2Reservation;
        const CommandFlags writes = CommandFlags.WritesMedium;
        const CommandFlags spc2Ok = CommandFlags.AllowedUnderSpc2Reservation;
        var table = new CommandTable();

        /* 0x00 */
        table.Add(new("TEST UNIT READY", ScsiOpcode.TestUnitReady, 6, TestUnitReady.Execute, CommandFlags.None, PrAccess.Allowed));
        table.Add(new("REQUEST SENSE", ScsiOpcode.RequestSense, 6, RequestSense.Execute, anyLun, PrAccess.Allowed));
        table.Add(new("READ(6)", ScsiOpcode.Read6, 6, ReadWrite.Read, CommandFlags.None, PrAccess.Read));
        table.Add(new("WRITE(6)", ScsiOpcode.Write6, 6, ReadWrite.Write, writes, PrAccess.Write));
        /* 0x10 */
        table.Add(new("INQUIRY", ScsiOpcode.Inquiry, 6, Inquiry.Execute, anyLun, PrAccess.Allowed));
        table.Add(new("MODE SENSE(6)", ScsiOpcode.ModeSense6, 6, ModeSense.Execute, CommandFlags.None, PrAccess.Read));
        /* 0x20 */
        table.Add(new("READ CAPACITY(10)", ScsiOpcode.ReadCapacity10, 10, ReadCapacity.Execute10, CommandFlags.None, PrAccess.Allowed));
        table.Add(new("READ(10)", ScsiOpcode.Read10, 10, ReadWrite.Read, CommandFlags.None, PrAccess.Read));
        table.Add(new("WRITE(10)", ScsiOpcode.Write10, 10, ReadWrite.Write, writes, PrAccess.Write));
        /* 0x30 */
        table.Add(new("SYNCHRONIZE CACHE(10)", ScsiOpcode.SynchronizeCache10, 10, SynchronizeCache.Execute, CommandFlags.None, PrAccess.Write));
        /* 0x50 */
        table.Add(new("MODE SENSE(10)", ScsiOpcode.ModeSense10, 10, ModeSense.Execute, CommandFlags.None, PrAccess.Read));
        /* 0x80 */
        table.Add(new("READ(16)", ScsiOpcode.Read16, 16, ReadWrite.Read, CommandFlags.None, PrAccess.Read));
        table.Add(new("WRITE(16)", ScsiOpcode.Write16, 16, ReadWrite.Write, writes, PrAccess.Write));
        /* 0x90 */
        table.Add(new("SYNCHRONIZE CACHE(16)", ScsiOpcode.SynchronizeCache16, 16, SynchronizeCache.Execute, CommandFlags.None, PrAccess.Write));
        table.Add(CommandDescriptor.WithServiceActions("SERVICE ACTION IN(16)", ScsiOpcode.ServiceActionIn16, 16,
            new CommandDescriptor("READ CAPACITY(16)", ScsiOpcode.ServiceActionIn16, 16, ReadCapacity.Execute16, CommandFlags.None, PrAccess.Allowed, serviceAction: 0x10)));
        /* 0xA0 */
        table.Add(new("REPORT LUNS", ScsiOpcode.ReportLuns, 12, ReportLuns.Execute, anyLun, PrAccess.Allowed));
        table.Add(new("READ(12)", ScsiOpcode.Read12, 12, ReadWrite.Read, CommandFlags.None, PrAccess.Read));
        table.Add(new("WRITE(12)", ScsiOpcode.Write12, 12, ReadWrite.Write, writes, PrAccess.Write));
        _ = spc2Ok;
        return table;
    }
}
