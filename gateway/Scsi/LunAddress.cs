namespace Sds.Gateway.Scsi;

/// <summary>
/// Encoding of the 8-byte LUN field (SAM-5 §4.7.2): peripheral device addressing for LUNs below
/// 256 and flat space addressing up to 16383, single level only.
/// </summary>
internal static class LunAddress
{
    /// <summary>Largest LUN that flat space addressing can carry.</summary>
    public const int LunMax = 0x3FFF;

    /// <summary>Decodes a wire LUN (as a big-endian number); false for multi-level or unsupported methods.</summary>
    public static bool TryDecode(ulong wireLun, out ushort lun)
    {
        lun = 0;
        // Second to fourth levels must be empty: single-level LUNs only.
        if ((wireLun & 0x0000_FFFF_FFFF_FFFFUL) != 0) return false;
        int first = (int)(wireLun >> 48);
        switch (first >> 14)
        {
            case 0b00:
                // Peripheral device addressing: BUS IDENTIFIER must be 0 for a single-level LUN.
                if ((first & 0x3F00) != 0) return false;
                lun = (ushort)(first & 0xFF);
                return true;
            case 0b01:
                lun = (ushort)(first & 0x3FFF);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Encodes <paramref name="lun"/> for REPORT LUNS (8 bytes).</summary>
    public static void Encode(ushort lun, Span<byte> destination)
    {
        Block.Invariant.Assert(lun <= LunMax, "LUN fits flat space addressing");
        destination[..8].Clear();
        if (lun < 256)
        {
            destination[1] = (byte)lun;
        }
        else
        {
            destination[0] = (byte)(0x40 | (lun >> 8));
            destination[1] = (byte)lun;
        }
    }

    /// <summary>The wire LUN (big-endian number) of <paramref name="lun"/>.</summary>
    public static ulong ToWire(ushort lun) => lun < 256 ? (ulong)lun << 48 : (ulong)(0x4000 | lun) << 48;
}
