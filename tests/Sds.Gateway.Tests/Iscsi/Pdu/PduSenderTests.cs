using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Sds.Gateway.Iscsi.Pdu;

namespace Sds.Gateway.Tests.Iscsi.Pdu;

/// <summary>
/// Proves outgoing PDUs are framed per RFC 7143: StatSN stamped and advanced in send order,
/// ExpCmdSN/MaxCmdSN from the window, padding and digests, and a Data-In sequence split by
/// MaxRecvDataSegmentLength with F at each MaxBurstLength boundary and status in the last PDU.
/// </summary>
public class PduSenderTests
{
    private sealed class FixedWindow : ICommandWindow
    {
        public void Read(out uint expCmdSN, out uint maxCmdSN)
        {
            expCmdSN = 10;
            maxCmdSN = 137;
        }
    }

    private static async Task<byte[]> DrainAsync(Pipe pipe)
    {
        await pipe.Writer.CompleteAsync();
        ReadResult result = await pipe.Reader.ReadAsync();
        while (!result.IsCompleted)
        {
            pipe.Reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            result = await pipe.Reader.ReadAsync();
        }
        return result.Buffer.ToArray();
    }

    [Fact]
    public async Task NopInCarriesWindowAndAdvancesStatSN()
    {
        var pipe = new Pipe();
        var sender = new PduSender(pipe.Writer, new FixedWindow());
        sender.InitializeStatSN(100);
        PduTemplate pdu = PduTemplate.For(IscsiOpcode.NopIn, 0x80, 0x55);
        Assert.True(await sender.SendAsync(pdu, "abcde"u8.ToArray()));
        Assert.True(await sender.SendAsync(pdu, default));
        byte[] bytes = await DrainAsync(pipe);
        Assert.Equal(48 + 8 + 48, bytes.Length);
        Assert.Equal(0x20, bytes[0]);
        Assert.Equal(5, bytes[7]);
        Assert.Equal(0x55u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(16)));
        Assert.Equal(0xFFFF_FFFFu, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(20)));
        Assert.Equal(100u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(24)));
        Assert.Equal(10u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(28)));
        Assert.Equal(137u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(32)));
        Assert.Equal(new byte[] { (byte)'a', (byte)'b', (byte)'c', (byte)'d', (byte)'e', 0, 0, 0 }, bytes[48..56]);
        Assert.Equal(101u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(56 + 24)));
    }

    [Fact]
    public async Task DigestsAreAppendedLittleEndian()
    {
        var pipe = new Pipe();
        var sender = new PduSender(pipe.Writer, new FixedWindow()) { HeaderDigest = true, DataDigest = true };
        Assert.True(await sender.SendAsync(PduTemplate.For(IscsiOpcode.NopIn, 0x80, 1), new byte[] { 1, 2, 3 }));
        byte[] bytes = await DrainAsync(pipe);
        Assert.Equal(48 + 4 + 4 + 4, bytes.Length);
        Assert.Equal(Crc32C.Compute(bytes.AsSpan(0, 48)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(48)));
        Assert.Equal(Crc32C.Compute(bytes.AsSpan(52, 4)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(56)));
    }

    [Fact]
    public async Task DataInIsSplitIntoSegmentsAndBurstsWithStatusInTheLastPdu()
    {
        var pipe = new Pipe();
        var sender = new PduSender(pipe.Writer, new FixedWindow());
        sender.InitializeStatSN(7);
        byte[] data = new byte[10_000];
        new Random(674386).NextBytes(data);
        PduTemplate first = PduTemplate.For(IscsiOpcode.ScsiDataIn, 0, 0x99);
        first.StatSN = StatSNPolicy.None;
        PduTemplate last = first;
        last.Flags = 0x80 | 0x01;
        last.StatSN = StatSNPolicy.Advance;
        // Segments of 3000 bytes, bursts of 6000: PDUs of 3000, 3000 (F), 3000, 1000 (F+S).
        int count = await sender.SendDataInAsync(first, data, 3000, 6000, collapseStatus: true, last);
        Assert.Equal(4, count);
        byte[] bytes = await DrainAsync(pipe);
        int offset = 0;
        int[] lengths = [3000, 3000, 3000, 1000];
        byte[] flags = [0x00, 0x80, 0x00, 0x81];
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(0x25, bytes[offset]);
            Assert.Equal(flags[i], bytes[offset + 1]);
            Assert.Equal(lengths[i], (bytes[offset + 5] << 16) | (bytes[offset + 6] << 8) | bytes[offset + 7]);
            Assert.Equal((uint)i, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset + 36)));
            Assert.Equal((uint)(i * 3000), BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset + 40)));
            uint statSN = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset + 24));
            Assert.Equal(i == 3 ? 7u : 0u, statSN);
            Assert.Equal(data.AsSpan(i * 3000, lengths[i]).ToArray(), bytes.AsSpan(offset + 48, lengths[i]).ToArray());
            offset += 48 + ((lengths[i] + 3) & ~3);
        }
        Assert.Equal(8u, sender.NextStatSN);
    }
}
