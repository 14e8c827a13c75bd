using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;

namespace Sds.Gateway.Iscsi.Pdu;

/// <summary>
/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) for iSCSI header and data digests
/// (RFC 7143 §11.2.3, RFC 3720 Appendix B.4 vectors). Uses the SSE4.2 CRC32 instruction when
/// present and a slicing-by-one table otherwise. Digests travel little-endian on the wire.
/// </summary>
internal static class Crc32C
{
    private const uint Polynomial = 0x82F63B78u;

    /// <summary>Initial value of a running CRC (before <see cref="Append(uint, ReadOnlySpan{byte})"/>).</summary>
    public const uint Seed = 0xFFFF_FFFFu;

    private static readonly uint[] Table = BuildTable();

    /// <summary>The finished CRC32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Seed, data));

    /// <summary>The finished CRC32C of a (possibly multi-segment) sequence.</summary>
    public static uint Compute(in ReadOnlySequence<byte> data)
    {
        uint crc = Seed;
        foreach (ReadOnlyMemory<byte> segment in data) crc = Append(crc, segment.Span);
        return Finish(crc);
    }

    /// <summary>Final XOR of a running CRC.</summary>
    public static uint Finish(uint crc) => ~crc;

    /// <summary>Feeds bytes into a running (not yet finished) CRC.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            ulong crc64 = crc;
            while (data.Length >= 8)
            {
                crc64 = Sse42.X64.Crc32(crc64, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            crc = (uint)crc64;
        }
        if (Sse42.IsSupported)
        {
            foreach (byte b in data) crc = Sse42.Crc32(crc, b);
            return crc;
        }
        uint[] table = Table;
        foreach (byte b in data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    /// <summary>Table path only, exposed so tests can check it against the hardware path.</summary>
    public static uint ComputeWithTable(ReadOnlySpan<byte> data)
    {
        uint crc = Seed;
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return Finish(crc);
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint entry = i;
            for (int bit = 0; bit < 8; bit++) entry = (entry & 1) != 0 ? (entry >> 1) ^ Polynomial : entry >> 1;
            table[i] = entry;
        }
        return table;
    }
}
