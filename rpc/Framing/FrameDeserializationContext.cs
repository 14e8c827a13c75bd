using System.Buffers;
using Grpc.Core;

namespace Sds.Rpc.Framing;

/// <summary>One reusable deserialization context per stream; <see cref="Reset"/> points it at the next payload.</summary>
internal sealed class FrameDeserializationContext : DeserializationContext
{
    private ReadOnlySequence<byte> payload;

    /// <inheritdoc />
    public override int PayloadLength => (int)payload.Length;

    /// <summary>Points the context at a payload that stays valid until the deserializer returns.</summary>
    public void Reset(in ReadOnlySequence<byte> nextPayload) => payload = nextPayload;

    /// <summary>Drops the reference so the pipe's memory is not held.</summary>
    public void Clear() => payload = default;

    /// <inheritdoc />
    public override byte[] PayloadAsNewBuffer() => payload.ToArray();

    /// <inheritdoc />
    public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => payload;

    /// <summary>Runs a marshaller over one payload.</summary>
    public T Deserialize<T>(Func<DeserializationContext, T> deserializer, in ReadOnlySequence<byte> nextPayload)
    {
        Reset(nextPayload);
        try
        {
            return deserializer(this);
        }
        finally
        {
            Clear();
        }
    }
}
