using System.Buffers;
using System.Runtime.InteropServices;

namespace Sds.Gateway.Block;

/// <summary>
/// A sparse in-memory block device for tests and demos: data lives in fixed-size chunks rented
/// from <see cref="ArrayPool{T}"/> and kept in a dictionary, so a 1 GiB device only holds what
/// was written. An absent chunk is deallocated and reads as zeros. Every operation runs under
/// one lock, which makes COMPARE AND WRITE and WRITE SAME trivially atomic; operations complete
/// synchronously and allocate nothing once the touched chunks exist.
/// </summary>
internal sealed class MemoryBlockDevice : IBlockDevice
{
    /// <summary>Default chunk (provisioning unit) size.</summary>
    public const int ChunkSizeBytesDefault = 4096;

    private readonly Lock _gate = new();
    private readonly Dictionary<long, byte[]> _chunks = new();
    private readonly int _chunkSizeBytes;
    private long _sizeBytes;
    private bool _disposed;

    /// <summary>Creates an empty (fully deallocated) device.</summary>
    public MemoryBlockDevice(long sizeBytes, int blockSizeBytes = 512, int chunkSizeBytes = ChunkSizeBytesDefault)
    {
        Invariant.Assert(blockSizeBytes is 512 or 4096, "block size is 512 or 4096");
        Invariant.Assert(chunkSizeBytes >= blockSizeBytes && chunkSizeBytes % blockSizeBytes == 0, "chunk holds whole blocks");
        Invariant.Assert(sizeBytes >= 0 && sizeBytes % blockSizeBytes == 0, "size is whole blocks");
        _sizeBytes = sizeBytes;
        BlockSizeBytes = blockSizeBytes;
        _chunkSizeBytes = chunkSizeBytes;
    }

    /// <inheritdoc />
    public long SizeBytes => Volatile.Read(ref _sizeBytes);

    /// <inheritdoc />
    public int BlockSizeBytes { get; }

    /// <inheritdoc />
    public int ProvisioningGranularityBytes => _chunkSizeBytes;

    /// <inheritdoc />
    public bool SupportsUnmap => true;

    /// <summary>Every write happens under one lock and memory has no crash to survive: any size is atomic.</summary>
    public int AtomicWriteBytesMax => 8 * 1024 * 1024;

    /// <summary>Number of chunks currently holding data (for tests: proves sparseness).</summary>
    public int MappedChunkCount
    {
        get { lock (_gate) return _chunks.Count; }
    }

    /// <inheritdoc />
    public ValueTask<BlockResult> ReadAsync(long offsetBytes, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!InRange(offsetBytes, buffer.Length)) return new(BlockResult.OutOfRange);
            ReadCore(offsetBytes, buffer.Span);
        }
        return new(BlockResult.Ok);
    }

    /// <inheritdoc />
    public ValueTask<BlockResult> WriteAsync(long offsetBytes, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!InRange(offsetBytes, data.Length)) return new(BlockResult.OutOfRange);
            WriteCore(offsetBytes, data.Span);
        }
        return new(BlockResult.Ok);
    }

    /// <inheritdoc />
    public ValueTask<BlockResult> WriteAtomicAsync(long offsetBytes, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken) =>
        WriteAsync(offsetBytes, data, forceUnitAccess, cancellationToken);

    /// <inheritdoc />
    public ValueTask<BlockResult> FlushAsync(CancellationToken cancellationToken) => new(BlockResult.Ok);

    /// <inheritdoc />
    public ValueTask<BlockResult> UnmapAsync(long offsetBytes, long lengthBytes, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!InRange(offsetBytes, lengthBytes)) return new(BlockResult.OutOfRange);
            UnmapCore(offsetBytes, lengthBytes);
        }
        return new(BlockResult.Ok);
    }

    /// <inheritdoc />
    public ValueTask<BlockResult> WriteSameAsync(long offsetBytes, long lengthBytes, ReadOnlyMemory<byte> pattern, bool deallocate, CancellationToken cancellationToken)
    {
        Invariant.Assert(pattern.Length == BlockSizeBytes, "WRITE SAME pattern is one block");
        ReadOnlySpan<byte> block = pattern.Span;
        lock (_gate)
        {
            if (!InRange(offsetBytes, lengthBytes)) return new(BlockResult.OutOfRange);
            if (deallocate && !block.ContainsAnyExcept((byte)0))
            {
                UnmapCore(offsetBytes, lengthBytes);
                return new(BlockResult.Ok);
            }
            for (long done = 0; done < lengthBytes; done += block.Length)
                WriteCore(offsetBytes + done, block);
        }
        return new(BlockResult.Ok);
    }

    /// <inheritdoc />
    public ValueTask<CompareAndWriteResult> CompareAndWriteAsync(long offsetBytes, ReadOnlyMemory<byte> expected, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken)
    {
        Invariant.Assert(expected.Length == data.Length, "compare and write buffers have one length");
        lock (_gate)
        {
            if (!InRange(offsetBytes, data.Length)) return new(new CompareAndWriteResult(BlockResult.OutOfRange, 0));
            long mismatch = CompareCore(offsetBytes, expected.Span);
            if (mismatch >= 0) return new(new CompareAndWriteResult(BlockResult.Miscompare, mismatch));
            WriteCore(offsetBytes, data.Span);
        }
        return new(new CompareAndWriteResult(BlockResult.Ok, 0));
    }

    /// <inheritdoc />
    public ValueTask<ProvisioningStatus> GetProvisioningStatusAsync(long offsetBytes, long lengthBytes, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!InRange(offsetBytes, lengthBytes) || lengthBytes == 0) return new(new ProvisioningStatus(BlockResult.OutOfRange, false, 0));
            long chunk = offsetBytes / _chunkSizeBytes;
            bool mapped = _chunks.ContainsKey(chunk);
            long end = offsetBytes + lengthBytes;
            long runEnd = (chunk + 1) * _chunkSizeBytes;
            while (runEnd < end && _chunks.ContainsKey(runEnd / _chunkSizeBytes) == mapped)
                runEnd += _chunkSizeBytes;
            return new(new ProvisioningStatus(BlockResult.Ok, mapped, Math.Min(runEnd, end) - offsetBytes));
        }
    }

    /// <inheritdoc />
    public ValueTask<BlockResult> ResizeAsync(long sizeBytes, CancellationToken cancellationToken)
    {
        if (sizeBytes < 0 || sizeBytes % BlockSizeBytes != 0) return new(BlockResult.OutOfRange);
        lock (_gate)
        {
            if (sizeBytes < _sizeBytes) UnmapCore(sizeBytes, _sizeBytes - sizeBytes);
            Volatile.Write(ref _sizeBytes, sizeBytes);
        }
        return new(BlockResult.Ok);
    }

    /// <summary>Returns every chunk to the pool.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (byte[] chunk in _chunks.Values) ArrayPool<byte>.Shared.Return(chunk);
            _chunks.Clear();
        }
    }

    private bool InRange(long offsetBytes, long lengthBytes) =>
        offsetBytes >= 0 && lengthBytes >= 0 && offsetBytes <= _sizeBytes && lengthBytes <= _sizeBytes - offsetBytes;

    private void ReadCore(long offsetBytes, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            long chunk = offsetBytes / _chunkSizeBytes;
            int within = (int)(offsetBytes % _chunkSizeBytes);
            int count = Math.Min(_chunkSizeBytes - within, destination.Length);
            if (_chunks.TryGetValue(chunk, out byte[]? data))
                data.AsSpan(within, count).CopyTo(destination);
            else
                destination[..count].Clear();
            destination = destination[count..];
            offsetBytes += count;
        }
    }

    private void WriteCore(long offsetBytes, ReadOnlySpan<byte> source)
    {
        while (!source.IsEmpty)
        {
            long chunk = offsetBytes / _chunkSizeBytes;
            int within = (int)(offsetBytes % _chunkSizeBytes);
            int count = Math.Min(_chunkSizeBytes - within, source.Length);
            ref byte[]? data = ref CollectionsMarshal.GetValueRefOrAddDefault(_chunks, chunk, out bool exists);
            if (!exists)
            {
                data = ArrayPool<byte>.Shared.Rent(_chunkSizeBytes);
                data.AsSpan(0, _chunkSizeBytes).Clear();
            }
            source[..count].CopyTo(data.AsSpan(within, count));
            source = source[count..];
            offsetBytes += count;
        }
    }

    private long CompareCore(long offsetBytes, ReadOnlySpan<byte> expected)
    {
        long position = 0;
        while (position < expected.Length)
        {
            long chunk = (offsetBytes + position) / _chunkSizeBytes;
            int within = (int)((offsetBytes + position) % _chunkSizeBytes);
            int count = (int)Math.Min(_chunkSizeBytes - within, expected.Length - position);
            ReadOnlySpan<byte> want = expected.Slice((int)position, count);
            int differs;
            if (_chunks.TryGetValue(chunk, out byte[]? data))
            {
                differs = want.CommonPrefixLength(data.AsSpan(within, count));
            }
            else
            {
                int nonZero = want.IndexOfAnyExcept((byte)0);
                differs = nonZero < 0 ? count : nonZero;
            }
            if (differs < count) return position + differs;
            position += count;
        }
        return -1;
    }

    private void UnmapCore(long offsetBytes, long lengthBytes)
    {
        long end = offsetBytes + lengthBytes;
        while (offsetBytes < end)
        {
            long chunk = offsetBytes / _chunkSizeBytes;
            int within = (int)(offsetBytes % _chunkSizeBytes);
            int count = (int)Math.Min(_chunkSizeBytes - within, end - offsetBytes);
            if (count == _chunkSizeBytes)
            {
                if (_chunks.Remove(chunk, out byte[]? data)) ArrayPool<byte>.Shared.Return(data);
            }
            else if (_chunks.TryGetValue(chunk, out byte[]? data))
            {
                // SBC-3 §4.7.3.4: a partial provisioning unit cannot be deallocated; zero it so it
                // still reads back as zeros (LBPRZ).
                data.AsSpan(within, count).Clear();
            }
            offsetBytes += count;
        }
    }
}
