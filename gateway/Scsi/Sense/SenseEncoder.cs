using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Sense;

/// <summary>Encodes <see cref="SenseData"/> as SPC-4 r37 §4.5.3 fixed-format sense data (response code 70h).</summary>
internal static class SenseEncoder
{
    /// <summary>Length of fixed-format sense data with 10 additional bytes.</summary>
    public const int FixedLengthBytes = 18;

    /// <summary>Writes fixed-format sense into <paramref name="destination"/> (at least 18 bytes); returns 18.</summary>
    public static int WriteFixed(in SenseData sense, Span<byte> destination)
    {
        Span<byte> buffer = destination[..FixedLengthBytes];
        buffer.Clear();
        // SPC-4 r37 §4.5.3: VALID bit qualifies INFORMATION; response code 70h = current error.
        buffer[0] = (byte)(0x70 | (sense.InformationValid ? 0x80 : 0x00));
        buffer[2] = (byte)((byte)sense.Key & 0x0F);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[3..], (uint)sense.Information);
        buffer[7] = FixedLengthBytes - 8;
        buffer[12] = sense.Asc;
        buffer[13] = sense.Ascq;
        if (sense.FieldPointerValid)
        {
            // SPC-4 r37 §4.5.2.4.2 field pointer: SKSV, C/D, BPV and BIT POINTER, then the byte.
            buffer[15] = (byte)(0x80 | (sense.FieldPointerInCdb ? 0x40 : 0x00)
                | (sense.FieldPointerBitValid ? 0x08 | (sense.FieldPointerBit & 0x07) : 0x00));
            BinaryPrimitives.WriteUInt16BigEndian(buffer[16..], sense.FieldPointer);
        }
        return FixedLengthBytes;
    }
}
