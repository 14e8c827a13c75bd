namespace Sds.Storage.Chunks;

/// <summary>
/// Chunk and block sizes of a store. A block is the unit of addressing and of checksumming: every
/// request is block aligned and every block carries its own CRC32C.
/// </summary>
internal readonly struct ChunkGeometry
{
    /// <summary>The chunk size DESIGN.md §4 gives volumes.</summary>
    public const int DefaultChunkSizeBytes = 4 * 1024 * 1024;

    /// <summary>Largest chunk this code accepts; keeps per-chunk checksum tables small and offsets in int range.</summary>
    public const int ChunkSizeBytesMax = 64 * 1024 * 1024;

    /// <summary>Creates a geometry; the sizes must be valid (see <see cref="IsValid"/>).</summary>
    public ChunkGeometry(int chunkSizeBytes, int blockSizeBytes)
    {
        Invariant.Assert(IsValid(chunkSizeBytes, blockSizeBytes), "block size is 512 or 4096 and divides the chunk size");
        ChunkSizeBytes = chunkSizeBytes;
        BlockSizeBytes = blockSizeBytes;
    }

    /// <summary>Bytes per chunk.</summary>
    public int ChunkSizeBytes { get; }

    /// <summary>Bytes per logical block (512 or 4096).</summary>
    public int BlockSizeBytes { get; }

    /// <summary>Blocks per chunk.</summary>
    public int BlocksPerChunk => ChunkSizeBytes / BlockSizeBytes;

    /// <summary>Whether the pair describes a geometry this store supports.</summary>
    public static bool IsValid(int chunkSizeBytes, int blockSizeBytes)
        => blockSizeBytes is 512 or 4096
            && chunkSizeBytes >= blockSizeBytes
            && chunkSizeBytes <= ChunkSizeBytesMax
            && chunkSizeBytes % blockSizeBytes == 0;

    /// <summary>
    /// Whether [<paramref name="offsetBytes"/>, +<paramref name="lengthBytes"/>) is a non-empty,
    /// block-aligned range inside one chunk. Every store checks this first and rejects with
    /// <see cref="ChunkStatus.InvalidRange"/>, so network input never reaches a file or a key.
    /// </summary>
    public bool IsValidRange(long offsetBytes, long lengthBytes)
        => offsetBytes >= 0
            && lengthBytes > 0
            && offsetBytes % BlockSizeBytes == 0
            && lengthBytes % BlockSizeBytes == 0
            && offsetBytes <= ChunkSizeBytes - lengthBytes;
}
