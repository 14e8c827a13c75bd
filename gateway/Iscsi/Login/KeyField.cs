namespace Sds.Gateway.Iscsi.Login;

/// <summary>Which <see cref="OperationalParameters"/> field a negotiated key sets.</summary>
internal enum KeyField : byte
{
    /// <summary>No field (informational or handled elsewhere).</summary>
    None,
    HeaderDigest,
    DataDigest,
    MaxConnections,
    InitialR2T,
    ImmediateData,
    MaxRecvDataSegmentLength,
    MaxBurstLength,
    FirstBurstLength,
    DefaultTime2Wait,
    DefaultTime2Retain,
    MaxOutstandingR2T,
    DataPDUInOrder,
    DataSequenceInOrder,
    ErrorRecoveryLevel,
}
