namespace Sds.Gateway.Iscsi.Session;

/// <summary>
/// Residual accounting of RFC 7143 §11.4.5 as the <see cref="Sds.Gateway.Scsi.ScsiTask"/> contract
/// defines it: a CDB transfer size above EDTL is an overflow; fewer bytes than EDTL an underflow.
/// </summary>
internal static class Residual
{
    /// <summary>O bit in a SCSI Response / Data-In (byte 1 bit 2).</summary>
    public const byte OverflowFlag = 0x04;
    /// <summary>U bit in a SCSI Response / Data-In (byte 1 bit 1).</summary>
    public const byte UnderflowFlag = 0x02;

    /// <summary>Computes the O/U flag and the Residual Count.</summary>
    /// <param name="expectedLength">EDTL from the command PDU.</param>
    /// <param name="cdbTransferLength">Bytes the CDB asked to move (0: not a transfer-length command).</param>
    /// <param name="movedLength">Bytes actually moved.</param>
    /// <param name="flags">O, U or 0.</param>
    /// <param name="count">Residual Count.</param>
    public static void Compute(uint expectedLength, uint cdbTransferLength, uint movedLength, out byte flags, out uint count)
    {
        uint effective = cdbTransferLength > 0 ? cdbTransferLength : movedLength;
        if (effective > expectedLength)
        {
            flags = OverflowFlag;
            count = effective - expectedLength;
        }
        else if (effective < expectedLength)
        {
            flags = UnderflowFlag;
            count = expectedLength - effective;
        }
        else
        {
            flags = 0;
            count = 0;
        }
    }
}
