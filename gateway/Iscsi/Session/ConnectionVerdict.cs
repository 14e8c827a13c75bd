namespace Sds.Gateway.Iscsi.Session;

/// <summary>Severity of a PDU fault (SPDK's PDU_FATAL vs CONNECTION_FATAL, STYLE.md).</summary>
internal enum ConnectionVerdict : byte
{
    /// <summary>Keep reading.</summary>
    Continue,
    /// <summary>Drop the connection (at ErrorRecoveryLevel 0 this ends the session, RFC 7143 §7).</summary>
    Close,
}
