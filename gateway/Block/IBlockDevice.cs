namespace Sds.Gateway.Block;

/// <summary>
/// A backing store for one logical unit (tgt's <c>backingstore_template</c> as an interface).
/// Offsets and lengths are bytes and are always whole logical blocks, checked by the SCSI layer
/// before the call (an implementation asserts it). Operations return a <see cref="BlockResult"/>
/// value and never throw for I/O faults; exceptions mean bugs.
/// </summary>
/// <remarks>
/// Atomicity: <see cref="CompareAndWriteAsync"/> and <see cref="WriteSameAsync"/> are single device
/// operations so a cluster device can run each one as one Raft command (DESIGN.md §5.4). A write
/// is atomic with respect to <see cref="CompareAndWriteAsync"/> on overlapping ranges.
/// </remarks>
internal interface IBlockDevice : IDisposable
{
    /// <summary>Capacity in bytes, a multiple of <see cref="BlockSizeBytes"/>.</summary>
    long SizeBytes { get; }

    /// <summary>Logical block size in bytes (512 or 4096).</summary>
    int BlockSizeBytes { get; }

    /// <summary>Smallest range, in bytes, the device can deallocate (its provisioning unit).</summary>
    int ProvisioningGranularityBytes { get; }

    /// <summary>Whether <see cref="UnmapAsync"/> really deallocates (thin provisioning, SBC-3 §4.7.3).</summary>
    bool SupportsUnmap { get; }

    /// <summary>
    /// Largest write, in bytes, the device performs all-or-nothing even across a crash (SBC-4 §4.29
    /// atomic writes); 0 when it cannot promise that. Enables WRITE ATOMIC (16).
    /// </summary>
    int AtomicWriteBytesMax { get; }

    /// <summary>
    /// Writes <paramref name="data"/> (at most <see cref="AtomicWriteBytesMax"/>) all-or-nothing: after
    /// a crash either every byte is the new data or none is.
    /// </summary>
    ValueTask<BlockResult> WriteAtomicAsync(long offsetBytes, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken);

    /// <summary>Reads <c>buffer.Length</c> bytes at <paramref name="offsetBytes"/>; deallocated ranges read as zeros.</summary>
    ValueTask<BlockResult> ReadAsync(long offsetBytes, Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="data"/>; with <paramref name="forceUnitAccess"/> it is durable on return.</summary>
    ValueTask<BlockResult> WriteAsync(long offsetBytes, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken);

    /// <summary>Makes every completed write durable (SYNCHRONIZE CACHE).</summary>
    ValueTask<BlockResult> FlushAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Deallocates the range (hole punch): it reads as zeros afterwards. Parts smaller than the
    /// provisioning unit are zeroed instead, so the read-back guarantee holds for any range.
    /// </summary>
    ValueTask<BlockResult> UnmapAsync(long offsetBytes, long lengthBytes, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the one-block <paramref name="pattern"/> to every block of the range. When
    /// <paramref name="deallocate"/> is set and the pattern is all zeros, the device may deallocate
    /// the range instead (SBC-3 §5.42 WRITE SAME with UNMAP).
    /// </summary>
    ValueTask<BlockResult> WriteSameAsync(long offsetBytes, long lengthBytes, ReadOnlyMemory<byte> pattern, bool deallocate, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically compares the range with <paramref name="expected"/> and, only when equal, writes
    /// <paramref name="data"/> (same length) there (SBC-3 §5.2 COMPARE AND WRITE).
    /// </summary>
    ValueTask<CompareAndWriteResult> CompareAndWriteAsync(long offsetBytes, ReadOnlyMemory<byte> expected, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken);

    /// <summary>Provisioning state of the run starting at <paramref name="offsetBytes"/>, at most <paramref name="lengthBytes"/> long.</summary>
    ValueTask<ProvisioningStatus> GetProvisioningStatusAsync(long offsetBytes, long lengthBytes, CancellationToken cancellationToken);

    /// <summary>Changes the capacity (grow or shrink); new space is deallocated.</summary>
    ValueTask<BlockResult> ResizeAsync(long sizeBytes, CancellationToken cancellationToken);
}
