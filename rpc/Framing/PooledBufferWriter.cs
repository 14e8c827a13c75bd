using System.Buffers;

namespace Sds.Rpc.Framing;

/// <summary>
/// A growable <see cref="IBufferWriter{T}"/> over one <see cref="ArrayPool{T}"/> array, reset and reused for
/// every message of a call. Owner: the call (or serialization context) that created it; it returns the
/// array in <see cref="Dispose"/>, exactly once.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private const int MinimumSizeBytes = 256;

    private byte[] buffer;
    private int writtenBytes;

    public PooledBufferWriter(int initialSizeBytes = 4096)
    {
        buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialSizeBytes, MinimumSizeBytes));
    }

    /// <summary>Bytes written since the last <see cref="Reset"/>.</summary>
    public int WrittenCount => writtenBytes;

    /// <summary>The written bytes.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => buffer.AsMemory(0, writtenBytes);

    /// <summary>The written bytes.</summary>
    public ReadOnlySpan<byte> WrittenSpan => buffer.AsSpan(0, writtenBytes);

    /// <summary>Forgets the written bytes and keeps the array.</summary>
    public void Reset() => writtenBytes = 0;

    /// <inheritdoc />
    public void Advance(int count)
    {
        Invariant.Assert(count >= 0 && writtenBytes + count <= buffer.Length, "Advance stays inside the buffer");
        writtenBytes += count;
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return buffer.AsMemory(writtenBytes);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return buffer.AsSpan(writtenBytes);
    }

    /// <summary>Returns the array to the pool.</summary>
    public void Dispose()
    {
        var returned = buffer;
        buffer = [];
        writtenBytes = 0;
        if (returned.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(returned);
        }
    }

    private void Ensure(int sizeHint)
    {
        Invariant.Assert(buffer.Length > 0, "writer used after Dispose");
        var needed = Math.Max(sizeHint, 1);
        if (buffer.Length - writtenBytes >= needed)
        {
            return;
        }

        var newSize = Math.Max(buffer.Length * 2, writtenBytes + needed);
        var larger = ArrayPool<byte>.Shared.Rent(newSize);
        buffer.AsSpan(0, writtenBytes).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = larger;
    }
}
