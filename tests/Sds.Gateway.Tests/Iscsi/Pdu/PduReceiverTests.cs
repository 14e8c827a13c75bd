using System.Buffers.Binary;
using System.IO.Pipelines;
using Sds.Gateway.Iscsi.Pdu;

namespace Sds.Gateway.Tests.Iscsi.Pdu;

/// <summary>
/// Proves the receive state machine decodes real PDU bytes (RFC 7143 §11.2): BHS fields, AHS,
/// data segment padding, and both digests, and that bad lengths and digests come back as values.
/// Bytes are fed through a real <see cref="Pipe"/>, split at awkward places.
/// </summary>
public class PduReceiverTests
{
    private static byte[] NopOut(uint itt, byte[] data, bool headerDigest = false, bool dataDigest = false, bool corruptHeader = false, bool corruptData = false)
    {
        var bytes = new List<byte>();
        byte[] bhs = new byte[48];
        bhs[0] = 0x40; // I bit, opcode NOP-Out
        bhs[1] = 0x80;
        bhs[5] = (byte)(data.Length >> 16);
        bhs[6] = (byte)(data.Length >> 8);
        bhs[7] = (byte)data.Length;
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), itt);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(20), 0xFFFF_FFFF);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(24), 7);
        bytes.AddRange(bhs);
        if (headerDigest)
        {
            byte[] digest = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(digest, Crc32C.Compute(bhs) ^ (corruptHeader ? 1u : 0u));
            bytes.AddRange(digest);
        }
        if (data.Length > 0)
        {
            byte[] padded = new byte[(data.Length + 3) & ~3];
            data.CopyTo(padded, 0);
            bytes.AddRange(padded);
            if (dataDigest)
            {
                byte[] digest = new byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(digest, Crc32C.Compute(padded) ^ (corruptData ? 1u : 0u));
                bytes.AddRange(digest);
            }
        }
        return bytes.ToArray();
    }

    private static async Task<PduReceiver> FeedAsync(Pipe pipe, byte[] bytes, int splitAt)
    {
        await pipe.Writer.WriteAsync(bytes.AsMemory(0, splitAt));
        await pipe.Writer.WriteAsync(bytes.AsMemory(splitAt));
        await pipe.Writer.CompleteAsync();
        return new PduReceiver(pipe.Reader);
    }

    [Theory]
    [InlineData(false, false, 1)]
    [InlineData(true, false, 47)]
    [InlineData(true, true, 50)]
    [InlineData(false, true, 60)]
    public async Task DecodesNopOutWithPaddingAndDigests(bool headerDigest, bool dataDigest, int splitAt)
    {
        byte[] data = "ping!"u8.ToArray();
        var pipe = new Pipe();
        PduReceiver receiver = await FeedAsync(pipe, NopOut(0x1234, data, headerDigest, dataDigest), splitAt);
        receiver.HeaderDigest = headerDigest;
        receiver.DataDigest = dataDigest;
        var header = new InboundHeader();
        Assert.Equal(ReceiveStatus.Ok, await receiver.ReceiveHeaderAsync(header, CancellationToken.None));
        Assert.Equal(IscsiOpcode.NopOut, header.Opcode);
        Assert.True(header.Bhs.Immediate);
        Assert.Equal(0x1234u, header.Bhs.InitiatorTaskTag);
        Assert.Equal(7u, header.Bhs.Field24);
        Assert.Equal(5, header.DataSegmentLength);
        byte[] received = new byte[5];
        Assert.Equal(ReceiveStatus.Ok, await receiver.ReceiveDataAsync(received, CancellationToken.None));
        Assert.Equal(data, received);
        Assert.Equal(ReceiveStatus.EndOfStream, await receiver.ReceiveHeaderAsync(header, CancellationToken.None));
    }

    [Fact]
    public async Task WrongHeaderDigestIsReported()
    {
        var pipe = new Pipe();
        PduReceiver receiver = await FeedAsync(pipe, NopOut(1, [], headerDigest: true, corruptHeader: true), 10);
        receiver.HeaderDigest = true;
        Assert.Equal(ReceiveStatus.HeaderDigestError, await receiver.ReceiveHeaderAsync(new InboundHeader(), CancellationToken.None));
    }

    [Fact]
    public async Task WrongDataDigestIsReportedAndTheStreamStaysAligned()
    {
        var pipe = new Pipe();
        byte[] first = NopOut(1, [1, 2, 3, 4, 5, 6], dataDigest: true, corruptData: true);
        byte[] second = NopOut(2, [9], dataDigest: true);
        PduReceiver receiver = await FeedAsync(pipe, [.. first, .. second], 3);
        receiver.DataDigest = true;
        var header = new InboundHeader();
        Assert.Equal(ReceiveStatus.Ok, await receiver.ReceiveHeaderAsync(header, CancellationToken.None));
        Assert.Equal(ReceiveStatus.DataDigestError, await receiver.ReceiveDataAsync(new byte[6], CancellationToken.None));
        Assert.Equal(ReceiveStatus.Ok, await receiver.ReceiveHeaderAsync(header, CancellationToken.None));
        Assert.Equal(2u, header.Bhs.InitiatorTaskTag);
        Assert.Equal(ReceiveStatus.Ok, await receiver.ReceiveDataAsync(new byte[1], CancellationToken.None));
    }

    [Fact]
    public async Task DataSegmentOverTheLimitIsReported()
    {
        var pipe = new Pipe();
        PduReceiver receiver = await FeedAsync(pipe, NopOut(1, new byte[9000]), 48);
        Assert.Equal(ReceiveStatus.DataSegmentTooLong, await receiver.ReceiveHeaderAsync(new InboundHeader(), CancellationToken.None));
    }

    [Fact]
    public async Task TruncatedPduIsEndOfStream()
    {
        var pipe = new Pipe();
        byte[] bytes = NopOut(1, new byte[100]);
        PduReceiver receiver = await FeedAsync(pipe, bytes[..80], 40);
        var header = new InboundHeader();
        Assert.Equal(ReceiveStatus.Ok, await receiver.ReceiveHeaderAsync(header, CancellationToken.None));
        Assert.Equal(ReceiveStatus.EndOfStream, await receiver.ReceiveDataAsync(new byte[100], CancellationToken.None));
    }

    [Fact]
    public void FindsExtendedCdbAndRejectsAnAhsRunningPastTheEnd()
    {
        var header = new InboundHeader();
        // Extended CDB AHS: AHSLength = 5 (reserved byte + 4 CDB bytes), type 1, padded to 8 bytes.
        byte[] ahs = [0x00, 0x05, 0x01, 0x00, 0xA1, 0xA2, 0xA3, 0xA4];
        ahs.CopyTo(header.AhsBytes, 0);
        header.AhsLength = 8;
        Assert.True(header.TryFindAhs(InboundHeader.AhsTypeExtendedCdb, out ReadOnlySpan<byte> specific, out bool malformed));
        Assert.False(malformed);
        Assert.Equal(new byte[] { 0x00, 0xA1, 0xA2, 0xA3, 0xA4 }, specific.ToArray());

        header.AhsBytes[1] = 0xFF; // AHSLength far past TotalAHSLength
        Assert.False(header.TryFindAhs(InboundHeader.AhsTypeExtendedCdb, out _, out malformed));
        Assert.True(malformed);
    }
}
