using System.Buffers.Binary;

namespace Sds.Storage.Chunks;

/// <summary>
/// Key layout of <see cref="RocksDbChunkStore"/>: volume id (16 bytes, big-endian GUID) | chunk
/// index (8, big-endian) | block index (4, big-endian). Big-endian fields make RocksDB's bytewise
/// order equal to (volume, chunk, block) order, so one chunk is one contiguous key range and a
/// range of blocks is a range of keys (UNMAP is one range delete). The chunk's allocation map is
/// keyed by the chunk prefix alone, in its own column family.
/// </summary>
internal static class RocksDbChunkKeys
{
    /// <summary>Bytes of the volume field.</summary>
    public const int VolumeBytes = 16;

    /// <summary>Bytes of volume plus chunk index: the prefix shared by a chunk's blocks.</summary>
    public const int ChunkPrefixBytes = VolumeBytes + sizeof(ulong);

    /// <summary>Bytes of a whole key.</summary>
    public const int KeyBytes = ChunkPrefixBytes + sizeof(uint);

    /// <summary>Writes the key of one block.</summary>
    public static void Write(Span<byte> destination, in ChunkKey key, uint blockIndex)
    {
        Invariant.Assert(destination.Length >= KeyBytes, "key buffer holds a whole key");
        bool written = key.VolumeId.TryWriteBytes(destination, bigEndian: true, out int volumeBytes);
        Invariant.Assert(written && volumeBytes == VolumeBytes, "a GUID is 16 bytes");
        BinaryPrimitives.WriteUInt64BigEndian(destination[VolumeBytes..], key.ChunkIndex);
        BinaryPrimitives.WriteUInt32BigEndian(destination[ChunkPrefixBytes..], blockIndex);
    }

    /// <summary>Writes the 24-byte chunk prefix, which is also the key of the chunk's allocation map.</summary>
    public static void WriteChunkPrefix(Span<byte> destination, in ChunkKey key)
    {
        Invariant.Assert(destination.Length >= ChunkPrefixBytes, "prefix buffer holds a chunk prefix");
        bool written = key.VolumeId.TryWriteBytes(destination, bigEndian: true, out int volumeBytes);
        Invariant.Assert(written && volumeBytes == VolumeBytes, "a GUID is 16 bytes");
        BinaryPrimitives.WriteUInt64BigEndian(destination[VolumeBytes..], key.ChunkIndex);
    }

    /// <summary>Reads a chunk prefix (an allocation map key); false for a key of another layout.</summary>
    public static bool TryReadChunkPrefix(ReadOnlySpan<byte> prefix, out ChunkKey chunk)
    {
        if (prefix.Length != ChunkPrefixBytes)
        {
            chunk = default;
            return false;
        }

        chunk = new ChunkKey(new Guid(prefix[..VolumeBytes], bigEndian: true), BinaryPrimitives.ReadUInt64BigEndian(prefix[VolumeBytes..]));
        return true;
    }

    /// <summary>Reads the chunk a key belongs to; false for a key of another layout.</summary>
    public static bool TryRead(ReadOnlySpan<byte> key, out ChunkKey chunk, out uint blockIndex)
    {
        if (key.Length != KeyBytes)
        {
            chunk = default;
            blockIndex = 0;
            return false;
        }

        chunk = new ChunkKey(new Guid(key[..VolumeBytes], bigEndian: true), BinaryPrimitives.ReadUInt64BigEndian(key[VolumeBytes..]));
        blockIndex = BinaryPrimitives.ReadUInt32BigEndian(key[ChunkPrefixBytes..]);
        return true;
    }
}
