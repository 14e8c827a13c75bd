namespace Sds.Gateway.Iscsi.Pdu;

/// <summary>How an outgoing PDU uses the connection's StatSN (RFC 7143 §4.2.2.2).</summary>
internal enum StatSNPolicy : byte
{
    /// <summary>Field 24 is not StatSN (Data-In without status): left zero.</summary>
    None,
    /// <summary>Carries the next StatSN without consuming it (R2T, unsolicited NOP-In, §11.8.3/§11.19.2).</summary>
    Current,
    /// <summary>Carries StatSN and advances it (every status-bearing response).</summary>
    Advance,
}
