using System.Buffers.Binary;

namespace Sds.Gateway.Iscsi.Pdu;

/// <summary>
/// A view over the 48-byte Basic Header Segment (RFC 7143 §11.2.1). Field names follow the
/// RFC; fields whose meaning depends on the opcode are named by the offset-sharing spec names
/// (e.g. <see cref="Field20"/> is TTT, EDTL, Referenced Task Tag or SNACK Tag). Big-endian throughout.
/// </summary>
internal readonly ref struct Bhs
{
    /// <summary>Value of ITT/TTT meaning "no tag" (RFC 7143 §11.2.1.8, 0xffffffff is reserved).</summary>
    public const uint ReservedTag = 0xFFFF_FFFFu;

    private readonly Span<byte> _bytes;

    /// <summary>Wraps <paramref name="bytes"/>, which must be exactly 48 bytes.</summary>
    public Bhs(Span<byte> bytes)
    {
        Invariant.Assert(bytes.Length == IscsiLimits.BhsLengthBytes, "a BHS is 48 bytes");
        _bytes = bytes;
    }

    /// <summary>The underlying bytes.</summary>
    public Span<byte> Bytes => _bytes;

    /// <summary>Opcode (byte 0 bits 0-5).</summary>
    public IscsiOpcode Opcode
    {
        get => (IscsiOpcode)(_bytes[0] & 0x3f);
        set => _bytes[0] = (byte)((_bytes[0] & 0x40) | ((byte)value & 0x3f));
    }

    /// <summary>The I (immediate delivery) bit, byte 0 bit 6 (§11.2.1.1).</summary>
    public bool Immediate
    {
        get => (_bytes[0] & 0x40) != 0;
        set => _bytes[0] = (byte)(value ? _bytes[0] | 0x40 : _bytes[0] & ~0x40);
    }

    /// <summary>Byte 1: the F bit and opcode-specific flags.</summary>
    public byte Flags { get => _bytes[1]; set => _bytes[1] = value; }

    /// <summary>The F (final) bit, byte 1 bit 7.</summary>
    public bool Final => (_bytes[1] & 0x80) != 0;

    /// <summary>Byte 2 (opcode specific: response, reject reason, version-max).</summary>
    public byte Byte2 { get => _bytes[2]; set => _bytes[2] = value; }

    /// <summary>Byte 3 (opcode specific: status, version-min/active).</summary>
    public byte Byte3 { get => _bytes[3]; set => _bytes[3] = value; }

    /// <summary>TotalAHSLength in 4-byte words (§11.2.1.2).</summary>
    public byte TotalAhsLengthWords { get => _bytes[4]; set => _bytes[4] = value; }

    /// <summary>DataSegmentLength in bytes, without padding (§11.2.1.3, 24 bits).</summary>
    public int DataSegmentLength
    {
        get => (_bytes[5] << 16) | (_bytes[6] << 8) | _bytes[7];
        set
        {
            Invariant.Assert(value >= 0 && value <= 0xFF_FFFF, "DataSegmentLength is 24 bits");
            _bytes[5] = (byte)(value >> 16);
            _bytes[6] = (byte)(value >> 8);
            _bytes[7] = (byte)value;
        }
    }

    /// <summary>LUN (bytes 8-15), or ISID+TSIH in login PDUs.</summary>
    public ulong Lun
    {
        get => BinaryPrimitives.ReadUInt64BigEndian(_bytes[8..]);
        set => BinaryPrimitives.WriteUInt64BigEndian(_bytes[8..], value);
    }

    /// <summary>ISID (bytes 8-13 of login PDUs, §11.12.5), 48 bits.</summary>
    public ulong Isid
    {
        get => BinaryPrimitives.ReadUInt64BigEndian(_bytes[8..]) >> 16;
        set
        {
            ushort tsih = Tsih;
            BinaryPrimitives.WriteUInt64BigEndian(_bytes[8..], (value << 16) | tsih);
        }
    }

    /// <summary>TSIH (bytes 14-15 of login PDUs, §11.12.6).</summary>
    public ushort Tsih
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_bytes[14..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_bytes[14..], value);
    }

    /// <summary>Initiator Task Tag (bytes 16-19).</summary>
    public uint InitiatorTaskTag { get => Read32(16); set => Write32(16, value); }

    /// <summary>Bytes 20-23: TTT, EDTL, Referenced Task Tag, SNACK Tag, or CID (login/logout, high 16 bits).</summary>
    public uint Field20 { get => Read32(20); set => Write32(20, value); }

    /// <summary>Bytes 24-27: CmdSN (requests) or StatSN (responses).</summary>
    public uint Field24 { get => Read32(24); set => Write32(24, value); }

    /// <summary>Bytes 28-31: ExpStatSN (requests) or ExpCmdSN (responses).</summary>
    public uint Field28 { get => Read32(28); set => Write32(28, value); }

    /// <summary>Bytes 32-35: MaxCmdSN (responses), RefCmdSN (TMF), or CDB bytes 0-3.</summary>
    public uint Field32 { get => Read32(32); set => Write32(32, value); }

    /// <summary>Bytes 36-39: DataSN, R2TSN, ExpDataSN, status class/detail.</summary>
    public uint Field36 { get => Read32(36); set => Write32(36, value); }

    /// <summary>Bytes 40-43: Buffer Offset, bidirectional residual, Time2Wait/Time2Retain.</summary>
    public uint Field40 { get => Read32(40); set => Write32(40, value); }

    /// <summary>Bytes 44-47: Residual Count or Desired Data Transfer Length.</summary>
    public uint Field44 { get => Read32(44); set => Write32(44, value); }

    /// <summary>The 16-byte CDB of a SCSI Command PDU (bytes 32-47, §11.3.5).</summary>
    public ReadOnlySpan<byte> Cdb => _bytes.Slice(32, 16);

    /// <summary>Reads a big-endian 32-bit field at <paramref name="offset"/>.</summary>
    public uint Read32(int offset) => BinaryPrimitives.ReadUInt32BigEndian(_bytes[offset..]);

    /// <summary>Writes a big-endian 32-bit field at <paramref name="offset"/>.</summary>
    public void Write32(int offset, uint value) => BinaryPrimitives.WriteUInt32BigEndian(_bytes[offset..], value);

    /// <summary>Reads a big-endian 16-bit field at <paramref name="offset"/>.</summary>
    public ushort Read16(int offset) => BinaryPrimitives.ReadUInt16BigEndian(_bytes[offset..]);

    /// <summary>Writes a big-endian 16-bit field at <paramref name="offset"/>.</summary>
    public void Write16(int offset, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(_bytes[offset..], value);

    /// <summary>Data segment length rounded up to a 4-byte boundary (§11.2.3 padding).</summary>
    public static int Padded(int length) => (length + 3) & ~3;
}
