using System.Buffers.Binary;
using Sds.Storage.Chunks;

namespace Sds.Storage.Tests.Replication;

/// <summary>
/// Test content that proves itself: every 4 KiB block holds its sequence number, its address and a CRC32C of
/// the rest, so a read shows which write it came from and that it is intact.
/// </summary>
internal static class VerifiableBlock
{
    public const int SizeBytes = 4096;

    public static byte[] Create(ulong sequence, ulong chunkIndex, ulong offsetBytes)
    {
        byte[] block = new byte[SizeBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(block, sequence);
        BinaryPrimitives.WriteUInt64LittleEndian(block.AsSpan(8), chunkIndex);
        BinaryPrimitives.WriteUInt64LittleEndian(block.AsSpan(16), offsetBytes);
        var random = new Random((int)(sequence * 7919 + chunkIndex));
        random.NextBytes(block.AsSpan(24, SizeBytes - 28));
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(SizeBytes - 4), Crc32C.Compute(block.AsSpan(0, SizeBytes - 4)));
        return block;
    }

    /// <summary>The sequence number of an intact block at this address; -1 for all zeros, throws when damaged.</summary>
    public static long Verify(ReadOnlySpan<byte> block, ulong chunkIndex, ulong offsetBytes)
    {
        if (!block.ContainsAnyExcept((byte)0))
        {
            return -1;
        }

        Assert.Equal(Crc32C.Compute(block[..(SizeBytes - 4)]), BinaryPrimitives.ReadUInt32LittleEndian(block[(SizeBytes - 4)..]));
        Assert.Equal(chunkIndex, BinaryPrimitives.ReadUInt64LittleEndian(block[8..]));
        Assert.Equal(offsetBytes, BinaryPrimitives.ReadUInt64LittleEndian(block[16..]));
        return (long)BinaryPrimitives.ReadUInt64LittleEndian(block);
    }
}
