using System.Buffers;
using Grpc.Core;

namespace Sds.Rpc.Framing;

/// <summary>
/// Serializes messages into gRPC frames written to a target writer; one instance per stream, reused for every message.
/// When the marshaller announces the payload length first (protobuf's generated marshallers do), the header goes
/// straight to the target and the payload is written in place with no copy. Otherwise the payload is staged in a
/// pooled scratch buffer and copied once.
/// </summary>
internal sealed class FrameSerializationContext : SerializationContext, IDisposable
{
    private readonly CountingBufferWriter direct = new();
    private PooledBufferWriter? scratch;
    private IBufferWriter<byte>? target;
    private int maxPayloadBytes;
    private int declaredPayloadBytes;
    private WriteMode mode;
    private bool completed;
    private FrameWriteStatus status;

    private enum WriteMode
    {
        Undecided,
        Direct,
        Scratch,
        Discard,
    }

    /// <summary>Payload size of the last serialized message.</summary>
    public int LastPayloadBytes { get; private set; }

    /// <summary>Serializes one message as a frame into <paramref name="frameTarget"/>.</summary>
    public FrameWriteStatus Serialize<T>(Action<T, SerializationContext> serializer, T message, IBufferWriter<byte> frameTarget, int maxPayloadSizeBytes)
    {
        target = frameTarget;
        maxPayloadBytes = maxPayloadSizeBytes;
        declaredPayloadBytes = -1;
        mode = WriteMode.Undecided;
        completed = false;
        status = FrameWriteStatus.Written;
        try
        {
            serializer(message, this);
            Invariant.Assert(completed, "marshaller called Complete");
            return status;
        }
        finally
        {
            target = null;
            direct.Reset(null);
        }
    }

    /// <inheritdoc />
    public override void SetPayloadLength(int payloadLength)
    {
        Invariant.Assert(mode == WriteMode.Undecided, "SetPayloadLength comes before any write");
        declaredPayloadBytes = payloadLength;
        if (payloadLength > maxPayloadBytes)
        {
            mode = WriteMode.Discard;
            status = FrameWriteStatus.TooLarge;
            return;
        }

        if (target is PooledBufferWriter pooled)
        {
            // Size our own buffer once for the whole frame instead of growing it while the payload is written.
            // (Not for pipes: asking a pipe for more than its block size leaves its memory pool.)
            pooled.GetSpan(GrpcFrame.HeaderSizeBytes + payloadLength);
        }

        GrpcFrame.WriteHeader(target!.GetSpan(GrpcFrame.HeaderSizeBytes), payloadLength);
        target.Advance(GrpcFrame.HeaderSizeBytes);
        direct.Reset(target);
        mode = WriteMode.Direct;
    }

    /// <inheritdoc />
    public override IBufferWriter<byte> GetBufferWriter()
    {
        switch (mode)
        {
            case WriteMode.Direct:
                return direct;
            case WriteMode.Undecided:
                mode = WriteMode.Scratch;
                goto case WriteMode.Scratch;
            case WriteMode.Scratch:
            case WriteMode.Discard:
                scratch ??= new PooledBufferWriter();
                scratch.Reset();
                return scratch;
            default:
                throw new System.Diagnostics.UnreachableException();
        }
    }

    /// <inheritdoc />
    public override void Complete()
    {
        Invariant.Assert(!completed, "Complete is called once per message");
        completed = true;
        switch (mode)
        {
            case WriteMode.Direct:
                Invariant.Assert(direct.WrittenCount == declaredPayloadBytes, "marshaller wrote the length it declared");
                LastPayloadBytes = declaredPayloadBytes;
                break;
            case WriteMode.Scratch:
                WriteWhole(scratch!.WrittenSpan);
                break;
            case WriteMode.Discard:
                LastPayloadBytes = declaredPayloadBytes;
                break;
            case WriteMode.Undecided:
                // GetBufferWriter was never called: an empty message.
                WriteWhole(ReadOnlySpan<byte>.Empty);
                break;
        }
    }

    /// <inheritdoc />
    public override void Complete(byte[] payload)
    {
        Invariant.Assert(!completed, "Complete is called once per message");
        Invariant.Assert(mode == WriteMode.Undecided, "Complete(byte[]) is not mixed with the buffer writer");
        completed = true;
        WriteWhole(payload);
    }

    /// <summary>Returns pooled memory.</summary>
    public void Dispose() => scratch?.Dispose();

    private void WriteWhole(ReadOnlySpan<byte> payload)
    {
        LastPayloadBytes = payload.Length;
        if (payload.Length > maxPayloadBytes)
        {
            status = FrameWriteStatus.TooLarge;
            return;
        }

        var span = target!.GetSpan(GrpcFrame.HeaderSizeBytes + payload.Length);
        GrpcFrame.WriteHeader(span, payload.Length);
        payload.CopyTo(span.Slice(GrpcFrame.HeaderSizeBytes));
        target.Advance(GrpcFrame.HeaderSizeBytes + payload.Length);
    }
}
