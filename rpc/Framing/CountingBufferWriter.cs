using System.Buffers;

namespace Sds.Rpc.Framing;

/// <summary>Passes writes through to another writer and counts the bytes, so a declared payload length can be checked.</summary>
internal sealed class CountingBufferWriter : IBufferWriter<byte>
{
    private IBufferWriter<byte>? inner;

    /// <summary>Bytes advanced since <see cref="Reset"/>.</summary>
    public int WrittenCount { get; private set; }

    /// <summary>Starts counting writes into <paramref name="target"/>.</summary>
    public void Reset(IBufferWriter<byte>? target)
    {
        inner = target;
        WrittenCount = 0;
    }

    /// <inheritdoc />
    public void Advance(int count)
    {
        Invariant.Assert(inner is not null, "counting writer has a target");
        inner.Advance(count);
        WrittenCount += count;
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Invariant.Assert(inner is not null, "counting writer has a target");
        return inner.GetMemory(sizeHint);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Invariant.Assert(inner is not null, "counting writer has a target");
        return inner.GetSpan(sizeHint);
    }
}
