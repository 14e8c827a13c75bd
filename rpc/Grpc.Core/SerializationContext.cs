using System.Buffers;

namespace Grpc.Core;

/// <summary>
/// Where a marshaller writes one message. Either <see cref="Complete(byte[])"/> with the whole payload, or
/// <see cref="SetPayloadLength"/> (optional), writes to <see cref="GetBufferWriter"/>, then <see cref="Complete()"/>.
/// </summary>
public abstract class SerializationContext
{
    /// <summary>Completes the message with a payload held in one array.</summary>
    public virtual void Complete(byte[] payload) => throw new NotImplementedException();

    /// <summary>The writer for the payload; valid until <see cref="Complete()"/>.</summary>
    public virtual IBufferWriter<byte> GetBufferWriter() => throw new NotImplementedException();

    /// <summary>Announces the payload length before it is written, which lets the transport write the frame header first.</summary>
    public virtual void SetPayloadLength(int payloadLength)
    {
    }

    /// <summary>Completes a payload written through <see cref="GetBufferWriter"/>.</summary>
    public virtual void Complete() => throw new NotImplementedException();
}
