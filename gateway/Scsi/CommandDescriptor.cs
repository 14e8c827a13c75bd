using Sds.Gateway.Scsi.Reservations;

namespace Sds.Gateway.Scsi;

/// <summary>
/// One row of the <see cref="CommandTable"/>: everything the dispatcher and REPORT SUPPORTED
/// OPERATION CODES need to know about an operation code (or one service action of it).
/// </summary>
internal sealed class CommandDescriptor
{
    /// <summary>Creates a row.</summary>
    public CommandDescriptor(string name, ScsiOpcode opcode, int cdbLengthBytes, CommandHandler handler,
        CommandFlags flags = CommandFlags.None, PrAccess reservationAccess = PrAccess.Write, ushort serviceAction = 0, byte[]? cdbUsage = null,
        Func<Block.IBlockDevice, bool>? deviceSupports = null)
    {
        DeviceSupports = deviceSupports;
        Name = name;
        SpanName = "SCSI " + name;
        Opcode = opcode;
        CdbLengthBytes = cdbLengthBytes;
        Handler = handler;
        Flags = flags;
        ReservationAccess = reservationAccess;
        ServiceAction = serviceAction;
        CdbUsage = cdbUsage ?? DefaultUsage((byte)opcode, cdbLengthBytes, serviceAction, false);
    }

    /// <summary>Spec name, for logs and tests.</summary>
    public string Name { get; }

    /// <summary>Name of the command's trace span (built once: no concatenation per command).</summary>
    public string SpanName { get; }

    /// <summary>CDB byte 0.</summary>
    public ScsiOpcode Opcode { get; }

    /// <summary>CDB length, including the CONTROL byte (last byte).</summary>
    public int CdbLengthBytes { get; }

    /// <summary>The handler.</summary>
    public CommandHandler Handler { get; }

    /// <summary>Shared-check flags.</summary>
    public CommandFlags Flags { get; }

    /// <summary>Behaviour under a persistent reservation held by another nexus.</summary>
    public PrAccess ReservationAccess { get; }

    /// <summary>The service action this row serves (0 for rows without one).</summary>
    public ushort ServiceAction { get; }

    /// <summary>Whether this row is one service action of an opcode with a sub-table.</summary>
    public bool HasServiceAction { get; private set; }

    /// <summary>Service-action sub-table (5-bit SERVICE ACTION in CDB byte 1), or null.</summary>
    public CommandDescriptor?[]? ServiceActions { get; private set; }

    /// <summary>CDB USAGE DATA for REPORT SUPPORTED OPERATION CODES (SPC-4 r37 §6.35.3): bits a handler looks at.</summary>
    public byte[] CdbUsage { get; private set; }

    /// <summary>
    /// Whether the backing store can serve the command (tgt's <c>is_bs_support_opcode</c>); null
    /// means every device can. A static predicate, evaluated by the dispatcher and by REPORT
    /// SUPPORTED OPERATION CODES so both agree.
    /// </summary>
    public Func<Block.IBlockDevice, bool>? DeviceSupports { get; }

    /// <summary>Whether <paramref name="unit"/>'s device can serve this row.</summary>
    public bool IsAvailableOn(LogicalUnit unit) => IsSupported && (DeviceSupports is null || DeviceSupports(unit.Device));

    /// <summary>Whether this row is the gap filler (unsupported opcode).</summary>
    public bool IsSupported => Handler != CommandTable.IllegalOpcodeHandler;

    /// <summary>A row for an opcode whose behaviour is chosen by the service action in CDB byte 1.</summary>
    public static CommandDescriptor WithServiceActions(string name, ScsiOpcode opcode, int cdbLengthBytes, params CommandDescriptor[] actions)
    {
        // An unknown service action is INVALID FIELD IN CDB whether or not a removable medium is loaded.
        var row = new CommandDescriptor(name, opcode, cdbLengthBytes, CommandTable.InvalidServiceActionHandler, CommandFlags.AllowedWithoutMedium, PrAccess.Allowed)
        {
            ServiceActions = new CommandDescriptor?[32],
        };
        foreach (CommandDescriptor action in actions)
        {
            Block.Invariant.Assert(action.Opcode == opcode && action.ServiceAction < 32, "service action belongs to this opcode");
            action.HasServiceAction = true;
            action.CdbUsage = DefaultUsage((byte)opcode, action.CdbLengthBytes, action.ServiceAction, true);
            row.ServiceActions[action.ServiceAction] = action;
        }
        return row;
    }

    private static byte[] DefaultUsage(byte opcode, int length, ushort serviceAction, bool hasServiceAction)
    {
        var usage = new byte[length];
        usage.AsSpan(1).Fill(0xFF);
        usage[0] = opcode;
        if (hasServiceAction) usage[1] = (byte)(0xE0 | serviceAction);
        // CONTROL byte: NACA and LINK are not supported.
        usage[length - 1] = 0x00;
        return usage;
    }
}
