namespace Sds.Gateway.Iscsi.Pdu;

/// <summary>
/// The fields of one outgoing BHS except the sequence numbers, which <see cref="PduSender"/>
/// stamps under its lock so StatSN order equals wire order (RFC 7143 §4.2.2.2). A plain struct:
/// building a response allocates nothing.
/// </summary>
internal struct PduTemplate
{
    /// <summary>Opcode.</summary>
    public IscsiOpcode Opcode;
    /// <summary>Byte 1 (F bit and opcode flags).</summary>
    public byte Flags;
    /// <summary>Byte 2.</summary>
    public byte Byte2;
    /// <summary>Byte 3.</summary>
    public byte Byte3;
    /// <summary>Bytes 8-15 (LUN, or ISID+TSIH for login).</summary>
    public ulong Lun;
    /// <summary>Initiator Task Tag.</summary>
    public uint InitiatorTaskTag;
    /// <summary>Bytes 20-23 (TTT, SNACK tag).</summary>
    public uint Field20;
    /// <summary>Bytes 36-39 (DataSN, R2TSN, ExpDataSN, status class/detail, AsyncEvent...).</summary>
    public uint Field36;
    /// <summary>Bytes 40-43.</summary>
    public uint Field40;
    /// <summary>Bytes 44-47.</summary>
    public uint Field44;
    /// <summary>How StatSN is used.</summary>
    public StatSNPolicy StatSN;
    /// <summary>Whether bytes 28-35 carry ExpCmdSN/MaxCmdSN (all target PDUs do, §11.2).</summary>
    public bool CarriesCommandWindow;

    /// <summary>A template with the common defaults (window carried, StatSN advanced).</summary>
    public static PduTemplate For(IscsiOpcode opcode, byte flags, uint initiatorTaskTag) => new()
    {
        Opcode = opcode,
        Flags = flags,
        InitiatorTaskTag = initiatorTaskTag,
        // Bytes 20-23 are a TTT (0xffffffff when none) only in NOP-In, Text Response and Data-In; reserved elsewhere.
        Field20 = opcode is IscsiOpcode.NopIn or IscsiOpcode.TextResponse or IscsiOpcode.ScsiDataIn ? Bhs.ReservedTag : 0,
        StatSN = StatSNPolicy.Advance,
        CarriesCommandWindow = true,
    };
}
