using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Sds.Gateway.Iscsi.Pdu;

/// <summary>
/// The receive state machine of one connection (RFC 7143 §11.2): header first
/// (BHS, AHS, header digest), then the data segment, which the caller either copies straight into
/// the command's buffer (Data-Out, zero intermediate copy) or into a pooled buffer. The pipe is
/// advanced only after each whole part, and its buffers are never touched after that.
/// </summary>
internal sealed class PduReceiver
{
    private readonly PipeReader _reader;
    private ReceiveState _state = ReceiveState.AwaitHeader;
    private int _dataSegmentLength;

    /// <summary>Creates a receiver over <paramref name="reader"/>.</summary>
    public PduReceiver(PipeReader reader) => _reader = reader;

    /// <summary>Whether HeaderDigest=CRC32C is in effect (after login, RFC 7143 §13.1).</summary>
    public bool HeaderDigest { get; set; }

    /// <summary>Whether DataDigest=CRC32C is in effect.</summary>
    public bool DataDigest { get; set; }

    /// <summary>Largest data segment accepted (the MaxRecvDataSegmentLength we declared; 8192 during login).</summary>
    public int DataSegmentLengthMax { get; set; } = IscsiLimits.LoginDataSegmentLengthBytesMax;

    /// <summary>
    /// Called once each time the receiver is about to wait for bytes that have not arrived yet (set
    /// once per connection; the connection flushes its deferred responses there, see <see cref="PduSender"/>).
    /// </summary>
    public Func<ValueTask<bool>>? BeforeWait { get; set; }

    /// <summary>Current state (for assertions and tests).</summary>
    public ReceiveState State => _state;

    /// <summary>Reads the BHS, AHS and header digest of the next PDU into <paramref name="header"/>.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReceiveStatus> ReceiveHeaderAsync(InboundHeader header, CancellationToken cancellation)
    {
        Invariant.Assert(_state == ReceiveState.AwaitHeader, "header read while a data segment is pending");
        ReadResult result = await ReadAtLeastAsync(IscsiLimits.BhsLengthBytes, cancellation).ConfigureAwait(false);
        ReadOnlySequence<byte> buffer = result.Buffer;
        if (buffer.Length < IscsiLimits.BhsLengthBytes)
        {
            _reader.AdvanceTo(buffer.Start, buffer.End);
            return ReceiveStatus.EndOfStream;
        }
        buffer.Slice(0, IscsiLimits.BhsLengthBytes).CopyTo(header.BhsBytes);
        int ahsLength = header.BhsBytes[4] * 4;
        int digestLength = HeaderDigest ? 4 : 0;
        int headerLength = IscsiLimits.BhsLengthBytes + ahsLength + digestLength;
        if (buffer.Length < headerLength)
        {
            _reader.AdvanceTo(buffer.Start, buffer.End);
            result = await ReadAtLeastAsync(headerLength, cancellation).ConfigureAwait(false);
            buffer = result.Buffer;
            if (buffer.Length < headerLength)
            {
                _reader.AdvanceTo(buffer.Start, buffer.End);
                return ReceiveStatus.EndOfStream;
            }
        }
        Invariant.Assert(ahsLength <= IscsiLimits.AhsLengthBytesMax, "TotalAHSLength is one byte of words");
        buffer.Slice(IscsiLimits.BhsLengthBytes, ahsLength).CopyTo(header.AhsBytes);
        header.AhsLength = ahsLength;
        header.DataSegmentLength = header.Bhs.DataSegmentLength;
        if (HeaderDigest)
        {
            // RFC 7143 §11.2.3: the header digest covers BHS and AHS.
            uint expected = Crc32C.Finish(Crc32C.Append(Crc32C.Append(Crc32C.Seed, header.BhsBytes), header.AhsBytes.AsSpan(0, ahsLength)));
            Span<byte> digest = stackalloc byte[4];
            buffer.Slice(IscsiLimits.BhsLengthBytes + ahsLength, 4).CopyTo(digest);
            if (BinaryPrimitives.ReadUInt32LittleEndian(digest) != expected)
            {
                _reader.AdvanceTo(buffer.GetPosition(headerLength));
                return ReceiveStatus.HeaderDigestError;
            }
        }
        _reader.AdvanceTo(buffer.GetPosition(headerLength));
        _dataSegmentLength = header.DataSegmentLength;
        if (_dataSegmentLength > DataSegmentLengthMax) return ReceiveStatus.DataSegmentTooLong;
        _state = ReceiveState.AwaitData;
        return ReceiveStatus.Ok;
    }

    /// <summary>
    /// Copies the pending data segment into <paramref name="destination"/> (exactly its length)
    /// and checks the data digest. Padding and digest are consumed.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReceiveStatus> ReceiveDataAsync(Memory<byte> destination, CancellationToken cancellation)
    {
        Invariant.Assert(_state == ReceiveState.AwaitData, "data read without a header");
        Invariant.Assert(destination.Length == _dataSegmentLength, "destination sized to the data segment");
        int total = Bhs.Padded(_dataSegmentLength) + (DataDigest && _dataSegmentLength > 0 ? 4 : 0);
        _state = ReceiveState.AwaitHeader;
        if (total == 0) return ReceiveStatus.Ok;
        ReadResult result = await ReadAtLeastAsync(total, cancellation).ConfigureAwait(false);
        ReadOnlySequence<byte> buffer = result.Buffer;
        if (buffer.Length < total)
        {
            _reader.AdvanceTo(buffer.Start, buffer.End);
            return ReceiveStatus.EndOfStream;
        }
        ReadOnlySequence<byte> data = buffer.Slice(0, _dataSegmentLength);
        data.CopyTo(destination.Span);
        ReceiveStatus status = ReceiveStatus.Ok;
        if (DataDigest)
        {
            // RFC 7143 §11.2.3: the data digest covers the data segment and its padding.
            uint expected = Crc32C.Compute(buffer.Slice(0, Bhs.Padded(_dataSegmentLength)));
            Span<byte> digest = stackalloc byte[4];
            buffer.Slice(Bhs.Padded(_dataSegmentLength), 4).CopyTo(digest);
            if (BinaryPrimitives.ReadUInt32LittleEndian(digest) != expected) status = ReceiveStatus.DataDigestError;
        }
        _reader.AdvanceTo(buffer.GetPosition(total));
        return status;
    }

    /// <summary>Consumes and drops the pending data segment (bounded by <see cref="DataSegmentLengthMax"/>).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReceiveStatus> SkipDataAsync(CancellationToken cancellation)
    {
        Invariant.Assert(_state == ReceiveState.AwaitData, "skip without a header");
        int total = Bhs.Padded(_dataSegmentLength) + (DataDigest && _dataSegmentLength > 0 ? 4 : 0);
        _state = ReceiveState.AwaitHeader;
        if (total == 0) return ReceiveStatus.Ok;
        ReadResult result = await ReadAtLeastAsync(total, cancellation).ConfigureAwait(false);
        ReadOnlySequence<byte> buffer = result.Buffer;
        if (buffer.Length < total)
        {
            _reader.AdvanceTo(buffer.Start, buffer.End);
            return ReceiveStatus.EndOfStream;
        }
        _reader.AdvanceTo(buffer.GetPosition(total));
        return ReceiveStatus.Ok;
    }

    /// <summary>
    /// <see cref="PipeReader.ReadAtLeastAsync"/>, but when the bytes are not buffered yet it first runs
    /// <see cref="BeforeWait"/>: a read loop that is about to block has nothing better to do than send.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReadAtLeastAsync(int minimumBytes, CancellationToken cancellation)
    {
        if (BeforeWait is { } beforeWait)
        {
            if (_reader.TryRead(out ReadResult buffered))
            {
                if (buffered.Buffer.Length >= minimumBytes || buffered.IsCompleted || buffered.IsCanceled) return buffered;
                // Not enough yet: give the bytes back unconsumed, then wait after flushing.
                _reader.AdvanceTo(buffered.Buffer.Start);
            }
            await beforeWait().ConfigureAwait(false);
        }
        return await _reader.ReadAtLeastAsync(minimumBytes, cancellation).ConfigureAwait(false);
    }
}
