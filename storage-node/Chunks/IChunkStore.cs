namespace Sds.Storage.Chunks;

/// <summary>
/// Block storage for chunks on one storage node: the state machine a placement group applies its
/// committed Raft entries to (DESIGN.md §5). All offsets are bytes within the chunk and must be
/// block aligned; a request that is not gets <see cref="ChunkStatus.InvalidRange"/>. Every read
/// checks each block's CRC32C and reports bad blocks as a value so the caller can fetch good data
/// from a replica and hand it to <see cref="Repair"/>. Chunks never written read as zeros (thin).
/// Operations on one chunk are serialized, which makes <see cref="CompareAndWrite"/> atomic;
/// operations on different chunks run in parallel. No operation throws for an operating error.
/// </summary>
internal interface IChunkStore : IDisposable
{
    /// <summary>Chunk and block sizes.</summary>
    ChunkGeometry Geometry { get; }

    /// <summary>
    /// Reads <paramref name="destination"/>.Length bytes at <paramref name="offsetBytes"/> and checks
    /// every block. On <see cref="ChunkStatus.Corrupt"/> the indexes (within the chunk) of up to
    /// <paramref name="corruptBlocks"/>.Length bad blocks are written there; pass an empty span when
    /// the count and first bad block are enough.
    /// </summary>
    ChunkReadResult Read(in ChunkKey key, long offsetBytes, Span<byte> destination, Span<int> corruptBlocks);

    /// <summary>Writes <paramref name="source"/> at <paramref name="offsetBytes"/> with fresh checksums.</summary>
    ChunkStatus Write(in ChunkKey key, long offsetBytes, ReadOnlySpan<byte> source);

    /// <summary>Writes the one-block <paramref name="block"/> into every block of the range (SBC-3 WRITE SAME).</summary>
    ChunkStatus WriteSame(in ChunkKey key, long offsetBytes, int lengthBytes, ReadOnlySpan<byte> block);

    /// <summary>Deallocates the range; it then reads as zeros and leaves the mapped extents (SBC-3 UNMAP).</summary>
    ChunkStatus Unmap(in ChunkKey key, long offsetBytes, int lengthBytes);

    /// <summary>
    /// Atomically compares the range with <paramref name="expected"/> and, only if equal, writes
    /// <paramref name="replacement"/> (SBC-3 COMPARE AND WRITE). A miscompare names the first differing byte.
    /// </summary>
    CompareAndWriteResult CompareAndWrite(in ChunkKey key, long offsetBytes, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> replacement);

    /// <summary>
    /// Fills <paramref name="extents"/> with the mapped ranges inside [offset, offset+length), in
    /// order; when the span fills up, ask again from the end of the last extent returned.
    /// </summary>
    ChunkStatus GetMappedExtents(in ChunkKey key, long offsetBytes, int lengthBytes, Span<ChunkExtent> extents, out int extentCount);

    /// <summary>Makes every write that returned <see cref="ChunkStatus.Ok"/> before this call durable.</summary>
    ChunkStatus Flush();

    /// <summary>Removes a chunk and its checksums; deleting a missing chunk is not an error.</summary>
    ChunkStatus DeleteChunk(in ChunkKey key);

    /// <summary>
    /// Appends the chunks that may hold data (of one volume, or of all when null) to <paramref name="chunks"/>;
    /// whether a chunk whose every block was unmapped is listed depends on the store.
    /// </summary>
    ChunkStatus ListChunks(Guid? volumeId, List<ChunkKey> chunks);

    /// <summary>
    /// Overwrites blocks with known-good data (from a replica) and reads them back: the result is
    /// <see cref="ChunkStatus.Ok"/> only when the stored blocks now verify.
    /// </summary>
    ChunkReadResult Repair(in ChunkKey key, long offsetBytes, ReadOnlySpan<byte> knownGood);
}
