using System.Runtime.CompilerServices;
using System.Buffers;
using System.IO.Pipelines;
using Grpc.Core;

namespace Sds.Rpc.Framing;

/// <summary>
/// Reads gRPC frames from a <see cref="PipeReader"/> and deserializes them, one message at a time. Used by both
/// the client (response stream) and the server (request stream). A frame that is already buffered is taken
/// synchronously by <see cref="TryReadBuffered"/>, so a burst of small messages costs no async state machine each.
/// </summary>
internal sealed class FrameStreamReader<T>
{
    private readonly PipeReader reader;
    private readonly Func<DeserializationContext, T> deserializer;
    private readonly int maxReceiveMessageBytes;
    private readonly FrameDeserializationContext context = new();

    public FrameStreamReader(PipeReader reader, Func<DeserializationContext, T> deserializer, int maxReceiveMessageBytes)
    {
        this.reader = reader;
        this.deserializer = deserializer;
        this.maxReceiveMessageBytes = maxReceiveMessageBytes;
    }

    /// <summary>The last message read.</summary>
    public T Current { get; private set; } = default!;

    /// <summary>The declared size of a frame refused with <see cref="FrameReadOutcome.TooLarge"/>.</summary>
    public uint RefusedFrameBytes { get; private set; }

    /// <summary>The exception a marshaller threw for <see cref="FrameReadOutcome.Undeserializable"/>.</summary>
    public Exception? DeserializeException { get; private set; }

    /// <summary>Takes a message if a whole frame is already buffered; never waits.</summary>
    public FrameReadOutcome TryReadBuffered()
    {
        if (!reader.TryRead(out var result))
        {
            return FrameReadOutcome.NeedMoreData;
        }

        return Parse(result);
    }

    /// <summary>Reads until a whole message, the end of the stream, or a framing error.</summary>
    // Per-message path: the pooling builder reuses state machine boxes instead of allocating one per await.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<FrameReadOutcome> ReadAsync(CancellationToken cancellationToken)
    {
        // Bounded by the peer: each turn either returns or waits for more bytes that Parse has not yet examined.
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var outcome = Parse(result);
            if (outcome != FrameReadOutcome.NeedMoreData)
            {
                return outcome;
            }
        }
    }

    private FrameReadOutcome Parse(in ReadResult result)
    {
        var buffer = result.Buffer;
        var status = GrpcFrame.TryRead(buffer, maxReceiveMessageBytes, out var payload, out var consumed);
        switch (status)
        {
            case FrameReadStatus.Message:
                return Deserialize(payload, consumed);
            case FrameReadStatus.NeedMoreData:
                if (result.IsCompleted || result.IsCanceled)
                {
                    var empty = buffer.IsEmpty;
                    reader.AdvanceTo(buffer.End);
                    return empty ? FrameReadOutcome.EndOfStream : FrameReadOutcome.Truncated;
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                return FrameReadOutcome.NeedMoreData;
            case FrameReadStatus.TooLarge:
                RefusedFrameBytes = GrpcFrame.PeekLength(buffer);
                reader.AdvanceTo(buffer.Start);
                return FrameReadOutcome.TooLarge;
            case FrameReadStatus.Compressed:
                reader.AdvanceTo(buffer.Start);
                return FrameReadOutcome.Compressed;
            default:
                reader.AdvanceTo(buffer.Start);
                return FrameReadOutcome.Malformed;
        }
    }

    private FrameReadOutcome Deserialize(in ReadOnlySequence<byte> payload, SequencePosition consumed)
    {
        try
        {
            Current = context.Deserialize(deserializer, payload);
            return FrameReadOutcome.Message;
        }
        catch (Exception exception)
        {
            // Peer bytes that the marshaller rejects are an operating error of the peer, not our bug.
            DeserializeException = exception;
            return FrameReadOutcome.Undeserializable;
        }
        finally
        {
            reader.AdvanceTo(consumed);
        }
    }
}
