namespace Sds.Gateway.Iscsi.Pdu;

/// <summary>Outcome of one receive step (errors are values, STYLE.md).</summary>
internal enum ReceiveStatus : byte
{
    /// <summary>The step completed.</summary>
    Ok,
    /// <summary>The peer closed the connection (or it broke) before a whole PDU arrived.</summary>
    EndOfStream,
    /// <summary>Header digest mismatch: the header length fields cannot be trusted, the connection must go (RFC 7143 §7.8).</summary>
    HeaderDigestError,
    /// <summary>Data digest mismatch: the PDU is discarded and answered with Reject (RFC 7143 §7.8).</summary>
    DataDigestError,
    /// <summary>DataSegmentLength over the negotiated MaxRecvDataSegmentLength (protocol error, §13.12).</summary>
    DataSegmentTooLong,
}
