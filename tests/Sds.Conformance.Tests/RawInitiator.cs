using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Sds.Gateway.Iscsi.Pdu;

namespace Sds.Conformance.Tests;

/// <summary>
/// A deliberately small iSCSI initiator on a raw socket, for sending malformed PDUs that no real
/// initiator would. It logs in (AuthMethod skipped, operational stage only), and can ping, write and
/// read with immediate data. Every receive is bounded by a timeout.
/// </summary>
public sealed class RawInitiator : IDisposable
{
    /// <summary>One received PDU.</summary>
    public sealed record Pdu(byte[] Bhs, byte[] Data)
    {
        /// <summary>The opcode.</summary>
        public byte Opcode => (byte)(Bhs[0] & 0x3f);
        /// <summary>Big-endian 32-bit field at <paramref name="offset"/>.</summary>
        public uint Field(int offset) => BinaryPrimitives.ReadUInt32BigEndian(Bhs.AsSpan(offset));
    }

    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private uint _itt = 0x1000;

    private RawInitiator(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    /// <summary>Next CmdSN to use.</summary>
    public uint CmdSN { get; set; }
    /// <summary>ExpStatSN to send.</summary>
    public uint ExpStatSN { get; set; }
    /// <summary>The socket stream (for tests that write raw bytes).</summary>
    public NetworkStream Stream => _stream;

    /// <summary>TSIH the target assigned.</summary>
    public ushort Tsih { get; private set; }
    /// <summary>Whether HeaderDigest=CRC32C was negotiated.</summary>
    public bool HeaderDigest { get; private set; }
    /// <summary>Whether DataDigest=CRC32C was negotiated.</summary>
    public bool DataDigest { get; private set; }

    /// <summary>Connects and logs in to the demo target in one Login Request (CSG=1 → NSG=3).</summary>
    public static async Task<RawInitiator> LoginAsync(int port, bool headerDigest = false, bool dataDigest = false, ulong isid = 0x8000_0000_0001, string initiatorName = "iqn.2026-11.io.sds:raw", string extraKeys = "ImmediateData=Yes\0InitialR2T=Yes\0FirstBurstLength=65536\0MaxBurstLength=262144\0")
    {
        (RawInitiator? initiator, ushort status) = await TryLoginAsync(port, headerDigest, dataDigest, isid, initiatorName, extraKeys, tsih: 0);
        return initiator ?? throw new InvalidOperationException($"login failed with status 0x{status:x4}");
    }

    /// <summary>Logs in and returns the initiator, or null and the login status class/detail (RFC 7143 §11.13.5).</summary>
    public static async Task<(RawInitiator? Initiator, ushort Status)> TryLoginAsync(int port, bool headerDigest, bool dataDigest, ulong isid, string initiatorName, string extraKeys, ushort tsih, bool discovery = false)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync("127.0.0.1", port);
        var initiator = new RawInitiator(client);
        string session = discovery ? "SessionType=Discovery\0" : "TargetName=iqn.2026-11.io.sds:demo\0SessionType=Normal\0";
        string keys = $"InitiatorName={initiatorName}\0{session}" +
            $"HeaderDigest={(headerDigest ? "CRC32C" : "None")}\0DataDigest={(dataDigest ? "CRC32C" : "None")}\0" +
            (extraKeys.Contains("MaxRecvDataSegmentLength=") ? "" : "MaxRecvDataSegmentLength=262144\0") + extraKeys;
        byte[] bhs = new byte[48];
        bhs[0] = 0x43;
        bhs[1] = 0x80 | (1 << 2) | 3;
        BinaryPrimitives.WriteUInt64BigEndian(bhs.AsSpan(8), (isid << 16) | tsih);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), 1);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(24), 1);
        await initiator.SendAsync(bhs, Encoding.UTF8.GetBytes(keys));
        // A bound, not a speed check: the first login of a freshly started server JITs the whole
        // login path, which took over 10 s with a load average near 40 on the 2-core machine.
        Pdu? response = await initiator.ReceiveAsync(TimeSpan.FromSeconds(30));
        if (response is null || response.Opcode != 0x23 || response.Bhs[36] != 0 || (response.Bhs[1] & 0x83) != 0x83)
        {
            initiator.Dispose();
            return (null, response is null ? (ushort)0xFFFF : (ushort)((response.Bhs[36] << 8) | response.Bhs[37]));
        }
        initiator.Tsih = BinaryPrimitives.ReadUInt16BigEndian(response.Bhs.AsSpan(14));
        initiator.CmdSN = response.Field(28);
        initiator.ExpStatSN = response.Field(24) + 1;
        initiator.HeaderDigest = headerDigest;
        initiator.DataDigest = dataDigest;
        return (initiator, 0);
    }

    /// <summary>A fresh Initiator Task Tag.</summary>
    public uint NextTag() => _itt++;

    /// <summary>Sends a PDU: BHS (its DataSegmentLength is filled in), optional AHS and data, with digests when negotiated (optionally corrupted).</summary>
    public async Task SendAsync(byte[] bhs, byte[]? data = null, byte[]? ahs = null, bool corruptHeaderDigest = false, bool corruptDataDigest = false, int? declaredDataLength = null)
    {
        data ??= [];
        ahs ??= [];
        int length = declaredDataLength ?? data.Length;
        bhs[4] = (byte)(ahs.Length / 4);
        bhs[5] = (byte)(length >> 16);
        bhs[6] = (byte)(length >> 8);
        bhs[7] = (byte)length;
        var bytes = new List<byte>(bhs);
        bytes.AddRange(ahs);
        if (HeaderDigest)
        {
            byte[] digest = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(digest, Crc32C.Compute(bytes.ToArray()) ^ (corruptHeaderDigest ? 0xdeadu : 0u));
            bytes.AddRange(digest);
        }
        if (data.Length > 0)
        {
            byte[] padded = new byte[(data.Length + 3) & ~3];
            data.CopyTo(padded, 0);
            bytes.AddRange(padded);
            if (DataDigest)
            {
                byte[] digest = new byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(digest, Crc32C.Compute(padded) ^ (corruptDataDigest ? 0xbeefu : 0u));
                bytes.AddRange(digest);
            }
        }
        await _stream.WriteAsync(bytes.ToArray());
    }

    /// <summary>Receives one PDU; null on timeout; throws <see cref="EndOfStreamException"/> when the target closed.</summary>
    public async Task<Pdu?> ReceiveAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            byte[] bhs = new byte[48];
            await _stream.ReadExactlyAsync(bhs, cancel.Token);
            if (HeaderDigest) await _stream.ReadExactlyAsync(new byte[4], cancel.Token);
            int ahs = bhs[4] * 4;
            if (ahs > 0) await _stream.ReadExactlyAsync(new byte[ahs], cancel.Token);
            int length = (bhs[5] << 16) | (bhs[6] << 8) | bhs[7];
            byte[] data = new byte[length];
            if (length > 0)
            {
                byte[] padded = new byte[(length + 3) & ~3];
                await _stream.ReadExactlyAsync(padded, cancel.Token);
                Array.Copy(padded, data, length);
                if (DataDigest) await _stream.ReadExactlyAsync(new byte[4], cancel.Token);
            }
            return new Pdu(bhs, data);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (IOException exception)
        {
            throw new EndOfStreamException("target closed the connection", exception);
        }
    }

    /// <summary>Receives until a PDU that is not an unsolicited NOP-In arrives (answering pings is not needed in these short tests).</summary>
    public async Task<Pdu?> ReceiveResponseAsync(TimeSpan timeout)
    {
        while (true)
        {
            Pdu? pdu = await ReceiveAsync(timeout);
            if (pdu is null || !(pdu.Opcode == 0x20 && pdu.Field(16) == 0xFFFF_FFFF)) return pdu;
        }
    }

    /// <summary>Whether the target has closed the connection (reads until EOF or the timeout).</summary>
    public async Task<bool> IsClosedAsync(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        try
        {
            while (DateTime.UtcNow < deadline)
            {
                if (await ReceiveAsync(deadline - DateTime.UtcNow) is null) return false;
            }
            return false;
        }
        catch (EndOfStreamException)
        {
            return true;
        }
    }

    /// <summary>A NOP-Out header (ping) with the given CmdSN.</summary>
    public byte[] NopOut(uint itt, uint cmdSN, bool immediate = true)
    {
        byte[] bhs = new byte[48];
        bhs[0] = (byte)(immediate ? 0x40 : 0x00);
        bhs[1] = 0x80;
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), itt);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(20), 0xFFFF_FFFF);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(24), cmdSN);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(28), ExpStatSN);
        return bhs;
    }

    /// <summary>Pings and waits for the NOP-In answer carrying the data back.</summary>
    public async Task<bool> PingAsync()
    {
        uint itt = NextTag();
        byte[] payload = Encoding.ASCII.GetBytes("are you there?");
        await SendAsync(NopOut(itt, CmdSN), payload);
        Pdu? answer = await ReceiveResponseAsync(TimeSpan.FromSeconds(10));
        return answer is not null && answer.Opcode == 0x20 && answer.Field(16) == itt && answer.Data.AsSpan().SequenceEqual(payload);
    }

    /// <summary>A SCSI Command header.</summary>
    public byte[] ScsiCommand(uint itt, byte flags, uint expectedLength, ReadOnlySpan<byte> cdb)
    {
        byte[] bhs = new byte[48];
        bhs[0] = 0x01;
        bhs[1] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), itt);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(20), expectedLength);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(24), CmdSN++);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(28), ExpStatSN);
        cdb.CopyTo(bhs.AsSpan(32));
        return bhs;
    }

    /// <summary>WRITE(10) of whole 512-byte blocks with all data as immediate data; returns the SCSI status.</summary>
    public async Task<int> WriteAsync(uint lba, byte[] data)
    {
        byte[] cdb = new byte[16];
        cdb[0] = 0x2A;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), (ushort)(data.Length / 512));
        uint itt = NextTag();
        await SendAsync(ScsiCommand(itt, 0x80 | 0x20 | 0x01, (uint)data.Length, cdb), data);
        Pdu? response = await ReceiveResponseAsync(TimeSpan.FromSeconds(10));
        if (response is null || response.Opcode != 0x21 || response.Field(16) != itt) return -1;
        ExpStatSN = response.Field(24) + 1;
        return response.Bhs[3];
    }

    /// <summary>
    /// WRITE(10) without immediate data, following the target's R2Ts (and sending
    /// <paramref name="unsolicitedBytes"/> of unsolicited Data-Out first, when InitialR2T=No). Data-Out
    /// PDUs carry at most <paramref name="segmentBytes"/>. Returns the SCSI status and the R2Ts seen.
    /// </summary>
    public async Task<(int Status, List<(uint Offset, uint Length, uint R2TSN)> R2Ts)> WriteWithR2TAsync(uint lba, byte[] data, int unsolicitedBytes, int segmentBytes)
    {
        byte[] cdb = new byte[16];
        cdb[0] = 0x2A;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), (ushort)(data.Length / 512));
        uint itt = NextTag();
        byte flags = (byte)((unsolicitedBytes > 0 ? 0 : 0x80) | 0x20 | 0x01);
        await SendAsync(ScsiCommand(itt, flags, (uint)data.Length, cdb));
        if (unsolicitedBytes > 0) await SendSequenceAsync(itt, 0xFFFF_FFFF, data, 0, unsolicitedBytes, segmentBytes);
        var r2ts = new List<(uint, uint, uint)>();
        while (true)
        {
            Pdu? pdu = await ReceiveResponseAsync(TimeSpan.FromSeconds(10));
            if (pdu is null || pdu.Field(16) != itt) return (-1, r2ts);
            if (pdu.Opcode == 0x31)
            {
                uint offset = pdu.Field(40), length = pdu.Field(44);
                r2ts.Add((offset, length, pdu.Field(36)));
                await SendSequenceAsync(itt, pdu.Field(20), data, (int)offset, (int)length, segmentBytes);
                continue;
            }
            if (pdu.Opcode != 0x21) return (-1, r2ts);
            ExpStatSN = pdu.Field(24) + 1;
            return (pdu.Bhs[3], r2ts);
        }
    }

    private async Task SendSequenceAsync(uint itt, uint ttt, byte[] data, int offset, int length, int segmentBytes)
    {
        uint dataSN = 0;
        for (int sent = 0; sent < length; sent += segmentBytes)
        {
            int size = Math.Min(segmentBytes, length - sent);
            byte[] bhs = new byte[48];
            bhs[0] = 0x05;
            bhs[1] = (byte)(sent + size == length ? 0x80 : 0);
            BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), itt);
            BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(20), ttt);
            BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(28), ExpStatSN);
            BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(36), dataSN++);
            BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(40), (uint)(offset + sent));
            await SendAsync(bhs, data.AsSpan(offset + sent, size).ToArray());
        }
    }

    /// <summary>TEST UNIT READY until GOOD (a new I_T nexus first sees POWER ON/RESET unit attention, SPC-4 §5.14).</summary>
    public async Task<bool> ClearUnitAttentionAsync()
    {
        for (int attempt = 0; attempt < 4; attempt++)
        {
            uint itt = NextTag();
            await SendAsync(ScsiCommand(itt, 0x80, 0, new byte[16]));
            Pdu? response = await ReceiveResponseAsync(TimeSpan.FromSeconds(10));
            if (response is null || response.Opcode != 0x21) return false;
            ExpStatSN = response.Field(24) + 1;
            if (response.Bhs[3] == 0) return true;
        }
        return false;
    }

    /// <summary>READ(10) of whole blocks; returns the data, or null on failure.</summary>
    public async Task<byte[]?> ReadAsync(uint lba, int blocks)
    {
        byte[] cdb = new byte[16];
        cdb[0] = 0x28;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), (ushort)blocks);
        uint itt = NextTag();
        await SendAsync(ScsiCommand(itt, 0x80 | 0x40 | 0x01, (uint)(blocks * 512), cdb));
        var data = new byte[blocks * 512];
        while (true)
        {
            Pdu? pdu = await ReceiveResponseAsync(TimeSpan.FromSeconds(10));
            if (pdu is null || pdu.Field(16) != itt) return null;
            if (pdu.Opcode == 0x25)
            {
                pdu.Data.CopyTo(data, (int)pdu.Field(40));
                if ((pdu.Bhs[1] & 0x01) != 0)
                {
                    ExpStatSN = pdu.Field(24) + 1;
                    return pdu.Bhs[3] == 0 ? data : null;
                }
                continue;
            }
            if (pdu.Opcode == 0x21)
            {
                ExpStatSN = pdu.Field(24) + 1;
                return pdu.Bhs[3] == 0 ? data : null;
            }
            return null;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();
}
