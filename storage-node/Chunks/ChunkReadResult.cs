namespace Sds.Storage.Chunks;

/// <summary>
/// The outcome of a read. When blocks fail their checksum the status is <see cref="ChunkStatus.Corrupt"/>
/// and the result says how many and which came first; the caller's optional span receives the
/// block indexes (within the chunk) of as many bad blocks as it has room for.
/// </summary>
internal readonly struct ChunkReadResult
{
    /// <summary>Creates a result.</summary>
    public ChunkReadResult(ChunkStatus status, int corruptBlockCount = 0, int firstCorruptBlock = -1)
    {
        Invariant.Assert((status == ChunkStatus.Corrupt) == (corruptBlockCount > 0), "corrupt status and a bad-block count go together");
        Invariant.Assert((corruptBlockCount > 0) == (firstCorruptBlock >= 0), "a bad-block count names its first block");
        Status = status;
        CorruptBlockCount = corruptBlockCount;
        FirstCorruptBlock = firstCorruptBlock;
    }

    /// <summary>The outcome.</summary>
    public ChunkStatus Status { get; }

    /// <summary>How many blocks of the request failed their checksum.</summary>
    public int CorruptBlockCount { get; }

    /// <summary>Index within the chunk of the first bad block, or -1.</summary>
    public int FirstCorruptBlock { get; }

    /// <summary>Wraps a plain status (never <see cref="ChunkStatus.Corrupt"/>).</summary>
    public static implicit operator ChunkReadResult(ChunkStatus status) => new(status);
}
