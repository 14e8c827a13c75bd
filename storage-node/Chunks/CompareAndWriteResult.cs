namespace Sds.Storage.Chunks;

/// <summary>
/// The outcome of COMPARE AND WRITE. On <see cref="ChunkStatus.Miscompare"/>,
/// <see cref="MiscompareOffsetBytes"/> is the offset of the first differing byte from the start of
/// the compared range: SBC-3 §5.2 COMPARE AND WRITE reports it in the sense INFORMATION field.
/// </summary>
internal readonly struct CompareAndWriteResult
{
    /// <summary>Creates a result.</summary>
    public CompareAndWriteResult(ChunkStatus status, int miscompareOffsetBytes = -1, ChunkReadResult read = default)
    {
        Invariant.Assert((status == ChunkStatus.Miscompare) == (miscompareOffsetBytes >= 0), "a miscompare names its offset");
        Status = status;
        MiscompareOffsetBytes = miscompareOffsetBytes;
        Read = read;
    }

    /// <summary>The outcome.</summary>
    public ChunkStatus Status { get; }

    /// <summary>Offset of the first differing byte within the request, or -1.</summary>
    public int MiscompareOffsetBytes { get; }

    /// <summary>When the compare read hit bad blocks, which ones (status <see cref="ChunkStatus.Corrupt"/>).</summary>
    public ChunkReadResult Read { get; }

    /// <summary>Wraps a plain status.</summary>
    public static implicit operator CompareAndWriteResult(ChunkStatus status) => new(status);
}
