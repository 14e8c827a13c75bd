using System.Buffers;
using System.Buffers.Binary;

namespace Sds.Rpc.Framing;

/// <summary>
/// gRPC Length-Prefixed-Message (PROTOCOL-HTTP2 "Length-Prefixed-Message"): a 1-byte Compressed-Flag,
/// a 4-byte big-endian Message-Length, then the message bytes.
/// </summary>
internal static class GrpcFrame
{
    /// <summary>Size of the frame prefix in bytes.</summary>
    public const int HeaderSizeBytes = 5;

    /// <summary>Default receive limit, as in every official gRPC implementation (4 MiB).</summary>
    public const int DefaultMaxReceiveMessageSizeBytes = 4 * 1024 * 1024;

    /// <summary>Writes a frame prefix for an uncompressed message.</summary>
    public static void WriteHeader(Span<byte> destination, int payloadLengthBytes)
    {
        Invariant.Assert(destination.Length >= HeaderSizeBytes, "frame header needs 5 bytes");
        Invariant.Assert(payloadLengthBytes >= 0, "payload length is non-negative");
        destination[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(1), (uint)payloadLengthBytes);
    }

    /// <summary>
    /// Takes one whole frame from the front of <paramref name="buffer"/>. On <see cref="FrameReadStatus.Message"/>,
    /// <paramref name="payload"/> is the message and <paramref name="consumed"/> the position after it.
    /// </summary>
    public static FrameReadStatus TryRead(in ReadOnlySequence<byte> buffer, int maxPayloadBytes, out ReadOnlySequence<byte> payload, out SequencePosition consumed)
    {
        payload = default;
        consumed = buffer.Start;
        if (buffer.Length < HeaderSizeBytes)
        {
            return FrameReadStatus.NeedMoreData;
        }

        Span<byte> header = stackalloc byte[HeaderSizeBytes];
        buffer.Slice(0, HeaderSizeBytes).CopyTo(header);
        var compressedFlag = header[0];
        var payloadLength = BinaryPrimitives.ReadUInt32BigEndian(header.Slice(1));
        if (compressedFlag > 1)
        {
            return FrameReadStatus.Malformed;
        }

        // We never advertise grpc-accept-encoding, so a compressed message is a peer error.
        if (compressedFlag == 1)
        {
            return FrameReadStatus.Compressed;
        }

        if (payloadLength > (uint)maxPayloadBytes)
        {
            return FrameReadStatus.TooLarge;
        }

        if (buffer.Length - HeaderSizeBytes < payloadLength)
        {
            return FrameReadStatus.NeedMoreData;
        }

        payload = buffer.Slice(HeaderSizeBytes, payloadLength);
        consumed = payload.End;
        return FrameReadStatus.Message;
    }

    /// <summary>The length a frame header declares, for error messages.</summary>
    public static uint PeekLength(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> header = stackalloc byte[HeaderSizeBytes];
        buffer.Slice(0, HeaderSizeBytes).CopyTo(header);
        return BinaryPrimitives.ReadUInt32BigEndian(header.Slice(1));
    }
}
