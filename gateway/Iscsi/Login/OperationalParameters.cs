namespace Sds.Gateway.Iscsi.Login;

/// <summary>
/// Negotiated values of the RFC 7143 §13 operational keys, starting from their defaults.
/// Session-wide keys are negotiated on the leading connection; the per-connection ones
/// (digests, MaxRecvDataSegmentLength) are copied to the connection at the end of login.
/// </summary>
internal sealed class OperationalParameters
{
    /// <summary>§13.1 HeaderDigest=CRC32C.</summary>
    public bool HeaderDigest { get; set; }
    /// <summary>§13.1 DataDigest=CRC32C.</summary>
    public bool DataDigest { get; set; }
    /// <summary>§13.2 MaxConnections (we answer 1: no MC/S).</summary>
    public int MaxConnections { get; set; } = 1;
    /// <summary>§13.10 InitialR2T (default Yes).</summary>
    public bool InitialR2T { get; set; } = true;
    /// <summary>§13.11 ImmediateData (default Yes).</summary>
    public bool ImmediateData { get; set; } = true;
    /// <summary>§13.12 the initiator's declared MaxRecvDataSegmentLength: largest data segment we may send (default 8192).</summary>
    public int InitiatorMaxRecvDataSegmentLength { get; set; } = 8192;
    /// <summary>§13.13 MaxBurstLength (default 262144).</summary>
    public int MaxBurstLength { get; set; } = 262144;
    /// <summary>§13.14 FirstBurstLength (default 65536).</summary>
    public int FirstBurstLength { get; set; } = 65536;
    /// <summary>§13.15 DefaultTime2Wait in seconds (default 2).</summary>
    public int DefaultTime2Wait { get; set; } = 2;
    /// <summary>§13.16 DefaultTime2Retain in seconds (default 20).</summary>
    public int DefaultTime2Retain { get; set; } = 20;
    /// <summary>§13.17 MaxOutstandingR2T (default 1).</summary>
    public int MaxOutstandingR2T { get; set; } = 1;
    /// <summary>§13.18 DataPDUInOrder (default Yes).</summary>
    public bool DataPDUInOrder { get; set; } = true;
    /// <summary>§13.19 DataSequenceInOrder (default Yes).</summary>
    public bool DataSequenceInOrder { get; set; } = true;
    /// <summary>§13.20 ErrorRecoveryLevel (default 0; we only do 0).</summary>
    public int ErrorRecoveryLevel { get; set; }

    /// <summary>FirstBurstLength as used: never more than MaxBurstLength (§13.14).</summary>
    public int EffectiveFirstBurstLength => Math.Min(FirstBurstLength, MaxBurstLength);
}
