using System.Buffers.Binary;
using System.Numerics;

namespace Sds.Raft;

/// <summary>CRC-32C (Castagnoli) over spans, using the hardware instruction where the JIT has one.</summary>
internal static class Crc32C
{
    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (byte b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }
}
