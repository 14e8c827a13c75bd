namespace Sds.Gateway.Iscsi.Pdu;

/// <summary>The ExpCmdSN/MaxCmdSN pair a response advertises (RFC 7143 §4.2.2.1).</summary>
internal interface ICommandWindow
{
    /// <summary>Reads both values consistently.</summary>
    void Read(out uint expCmdSN, out uint maxCmdSN);
}
