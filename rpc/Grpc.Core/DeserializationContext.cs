using System.Buffers;

namespace Grpc.Core;

/// <summary>Gives a marshaller one received message payload; valid only during the deserializer call.</summary>
public abstract class DeserializationContext
{
    /// <summary>The payload length in bytes.</summary>
    public abstract int PayloadLength { get; }

    /// <summary>Copies the payload into a new array (the slow path, for legacy marshallers).</summary>
    public virtual byte[] PayloadAsNewBuffer() => throw new NotImplementedException();

    /// <summary>The payload without a copy; do not keep it past the deserializer call.</summary>
    public virtual ReadOnlySequence<byte> PayloadAsReadOnlySequence() => throw new NotImplementedException();
}
