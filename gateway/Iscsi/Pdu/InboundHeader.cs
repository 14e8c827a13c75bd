namespace Sds.Gateway.Iscsi.Pdu;

/// <summary>
/// The header part of one received PDU: the BHS and the AHS, copied out of the pipe so the pipe
/// can advance. One instance per connection, reused for every PDU (owner: the connection's read loop).
/// </summary>
internal sealed class InboundHeader
{
    /// <summary>AHSType of an Extended CDB AHS (RFC 7143 §11.2.2.3).</summary>
    public const byte AhsTypeExtendedCdb = 1;

    /// <summary>AHSType of an Expected Bidirectional Read Data Length AHS (§11.2.2.4).</summary>
    public const byte AhsTypeBidirectionalReadLength = 2;

    /// <summary>The 48 BHS bytes.</summary>
    public byte[] BhsBytes { get; } = new byte[IscsiLimits.BhsLengthBytes];

    /// <summary>Room for the largest AHS.</summary>
    public byte[] AhsBytes { get; } = new byte[IscsiLimits.AhsLengthBytesMax];

    /// <summary>Valid AHS bytes (TotalAHSLength × 4).</summary>
    public int AhsLength { get; set; }

    /// <summary>Data segment length from the BHS.</summary>
    public int DataSegmentLength { get; set; }

    /// <summary>A view over the BHS.</summary>
    public Bhs Bhs => new(BhsBytes);

    /// <summary>The opcode.</summary>
    public IscsiOpcode Opcode => Bhs.Opcode;

    /// <summary>
    /// Finds an AHS of <paramref name="ahsType"/> and returns its type-specific bytes (after the
    /// 3-byte AHSLength/AHSType prefix). Returns false when absent or when the AHS chain is malformed.
    /// </summary>
    public bool TryFindAhs(byte ahsType, out ReadOnlySpan<byte> specific, out bool malformed)
    {
        specific = default;
        malformed = false;
        ReadOnlySpan<byte> rest = AhsBytes.AsSpan(0, AhsLength);
        while (rest.Length > 0)
        {
            if (rest.Length < 4) { malformed = true; return false; }
            int length = (rest[0] << 8) | rest[1];
            byte type = rest[2];
            int total = (3 + length + 3) & ~3;
            if (length == 0 || total > rest.Length) { malformed = true; return false; }
            if (type == ahsType)
            {
                specific = rest.Slice(3, length);
                return true;
            }
            rest = rest[total..];
        }
        return false;
    }
}
