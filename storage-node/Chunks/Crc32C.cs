using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Sds.Storage.Chunks;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum kept per block. It uses the
/// SSE4.2 CRC32 instruction (or ARMv8 CRC32C) eight bytes at a time and falls back to slicing-by-8
/// tables elsewhere. The gateway computes the same function for iSCSI digests (RFC 7143 §13.1);
/// the two are meant to merge into one shared place.
/// </summary>
internal static class Crc32C
{
    private const uint Polynomial = 0x82F63B78;

    // Slicing-by-8: Table[k][b] is the CRC contribution of byte b followed by k zero bytes.
    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC-32C of <paramref name="data"/> (initial value and final XOR 0xFFFFFFFF).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(0xFFFFFFFF, data);

    /// <summary>Continues a raw (not finalized) CRC state over more data.</summary>
    public static uint Append(uint state, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            return AppendSse42(state, data);
        }

        if (Crc32.Arm64.IsSupported)
        {
            return AppendArm64(state, data);
        }

        return AppendSoftware(state, data);
    }

    /// <summary>The table path, public so tests can hold both implementations to the same answers.</summary>
    internal static uint AppendSoftware(uint state, ReadOnlySpan<byte> data)
    {
        uint[] table = Table;
        while (data.Length >= 8)
        {
            uint low = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ state;
            uint high = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            state = table[(7 * 256) + (low & 0xFF)] ^ table[(6 * 256) + ((low >> 8) & 0xFF)]
                ^ table[(5 * 256) + ((low >> 16) & 0xFF)] ^ table[(4 * 256) + (low >> 24)]
                ^ table[(3 * 256) + (high & 0xFF)] ^ table[(2 * 256) + ((high >> 8) & 0xFF)]
                ^ table[256 + ((high >> 16) & 0xFF)] ^ table[high >> 24];
            data = data[8..];
        }

        foreach (byte value in data)
        {
            state = table[(state ^ value) & 0xFF] ^ (state >> 8);
        }

        return state;
    }

    private static uint AppendSse42(uint state, ReadOnlySpan<byte> data)
    {
        ulong wide = state;
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong word in words)
        {
            wide = Sse42.X64.Crc32(wide, word);
        }

        state = (uint)wide;
        foreach (byte value in data[(words.Length * 8)..])
        {
            state = Sse42.Crc32(state, value);
        }

        return state;
    }

    private static uint AppendArm64(uint state, ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong word in words)
        {
            state = Crc32.Arm64.ComputeCrc32C(state, word);
        }

        foreach (byte value in data[(words.Length * 8)..])
        {
            state = Crc32.ComputeCrc32C(state, value);
        }

        return state;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[8 * 256];
        for (uint b = 0; b < 256; b++)
        {
            uint crc = b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ Polynomial : crc >> 1;
            }

            table[b] = crc;
        }

        for (int slice = 1; slice < 8; slice++)
        {
            for (int b = 0; b < 256; b++)
            {
                uint previous = table[((slice - 1) * 256) + b];
                table[(slice * 256) + b] = (previous >> 8) ^ table[previous & 0xFF];
            }
        }

        return table;
    }
}
