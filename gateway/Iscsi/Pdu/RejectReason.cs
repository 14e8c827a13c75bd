namespace Sds.Gateway.Iscsi.Pdu;

/// <summary>RFC 7143 §11.17.1 Reject reason codes.</summary>
internal enum RejectReason : byte
{
    /// <summary>Data (payload) digest error; the initiator may retransmit.</summary>
    DataDigestError = 0x02,
    /// <summary>SNACK reject (we run ErrorRecoveryLevel=0).</summary>
    SnackReject = 0x03,
    /// <summary>Protocol error (e.g., a SNACK for a status already acknowledged, or a PDU not valid now).</summary>
    ProtocolError = 0x04,
    /// <summary>Command not supported.</summary>
    CommandNotSupported = 0x05,
    /// <summary>Immediate command rejected: too many immediate commands.</summary>
    ImmediateCommandReject = 0x06,
    /// <summary>Task in progress (ITT reused).</summary>
    TaskInProgress = 0x07,
    /// <summary>Invalid data ACK.</summary>
    InvalidDataAck = 0x08,
    /// <summary>Invalid PDU field.</summary>
    InvalidPduField = 0x09,
    /// <summary>Long operation reject: cannot generate a Target Transfer Tag (out of resources).</summary>
    LongOperationReject = 0x0a,
    /// <summary>Waiting for logout.</summary>
    WaitingForLogout = 0x0c,
}
