namespace Sds.Storage.Chunks;

/// <summary>
/// A mapped (allocated) byte range within a chunk, the unit GET LBA STATUS reports
/// (SBC-3 §5.5: LBA status descriptors). Ranges not covered by an extent read as zeros.
/// </summary>
internal readonly record struct ChunkExtent(long OffsetBytes, long LengthBytes);
