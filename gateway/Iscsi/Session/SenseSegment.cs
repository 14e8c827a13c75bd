using System.Buffers.Binary;
using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Iscsi.Session;

/// <summary>
/// Puts a <see cref="SenseData"/> value on the wire as the data segment of a SCSI Response
/// (RFC 7143 §11.4.7: 2-byte SenseLength, then the sense bytes). SPC-4 §4.5.3 fixed format
/// (response code 70h, written by the SCSI layer's <see cref="Sds.Gateway.Scsi.Sense.SenseEncoder"/> so
/// REQUEST SENSE and the response agree) unless INFORMATION needs 64 bits, then §4.5.2 descriptor format (72h).
/// </summary>
internal static class SenseSegment
{
    /// <summary>Writes SenseLength + sense into <paramref name="destination"/>; returns the data segment length.</summary>
    public static int Encode(in SenseData sense, Span<byte> destination)
    {
        Invariant.Assert(destination.Length >= 2 + 32, "room for the largest sense we build");
        Span<byte> s = destination[2..];
        s[..32].Clear();
        int length;
        if (sense.InformationValid && sense.Information > uint.MaxValue)
        {
            // SPC-4 §4.5.2: descriptor format with an Information descriptor (type 00h).
            s[0] = 0x72;
            s[1] = (byte)sense.Key;
            s[2] = sense.Asc;
            s[3] = sense.Ascq;
            int additional = 12;
            s[8] = 0x00;
            s[9] = 0x0A;
            s[10] = 0x80;
            BinaryPrimitives.WriteUInt64BigEndian(s[12..], sense.Information);
            if (sense.FieldPointerValid)
            {
                // Sense-key specific descriptor (type 02h).
                s[20] = 0x02;
                s[21] = 0x06;
                WriteSks(sense, s.Slice(24, 3));
                additional += 8;
            }
            s[7] = (byte)additional;
            length = 8 + additional;
        }
        else
        {
            length = Sds.Gateway.Scsi.Sense.SenseEncoder.WriteFixed(sense, s);
        }
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)length);
        return 2 + length;
    }

    private static void WriteSks(in SenseData sense, Span<byte> sks)
    {
        // SPC-4 §4.5.2.4.2 field pointer: SKSV, C/D, BPV, bit pointer, then the byte offset.
        sks[0] = (byte)(0x80 | (sense.FieldPointerInCdb ? 0x40 : 0) | (sense.FieldPointerBitValid ? 0x08 | (sense.FieldPointerBit & 0x7) : 0));
        BinaryPrimitives.WriteUInt16BigEndian(sks[1..], sense.FieldPointer);
    }
}
