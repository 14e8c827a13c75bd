using Sds.Gateway.Iscsi.Pdu;

namespace Sds.Gateway.Iscsi.Session;

/// <summary>The ExpCmdSN/MaxCmdSN advertised during login: the login's CmdSN does not advance (RFC 7143 §11.12.7).</summary>
internal sealed class LoginWindow : ICommandWindow
{
    private uint _cmdSN;

    /// <summary>Sets the login CmdSN.</summary>
    public void Set(uint cmdSN) => _cmdSN = cmdSN;

    /// <inheritdoc />
    public void Read(out uint expCmdSN, out uint maxCmdSN)
    {
        expCmdSN = _cmdSN;
        maxCmdSN = unchecked(_cmdSN + IscsiLimits.CommandWindowDepth - 1);
    }
}
