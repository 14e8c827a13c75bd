using System.Buffers.Binary;
using System.Text;

namespace Sds.Conformance.Tests;

/// <summary>
/// Proves DESIGN.md §9 for the iSCSI layer: every malformed PDU sent on a raw socket gets a
/// Reject (RFC 7143 §11.17) or a closed connection, never a crash, while another session on
/// the same server keeps doing real, verified I/O and the process stays up.
/// </summary>
public class MalformedPduTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private SdsServer _server = null!;
    private RawInitiator _bystander = null!;
    private uint _bystanderLba = 1000;

    public async Task InitializeAsync()
    {
        _server = await SdsServer.StartAsync();
        _bystander = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_00AA, initiatorName: "iqn.2026-11.io.sds:bystander");
        Assert.True(await _bystander.ClearUnitAttentionAsync());
    }

    public async Task DisposeAsync()
    {
        _bystander.Dispose();
        await _server.DisposeAsync();
    }

    private async Task AssertBystanderStillWorksAsync()
    {
        Assert.False(_server.HasExited, "the server process must stay up");
        byte[] data = new byte[8 * 512];
        new Random((int)_bystanderLba).NextBytes(data);
        uint lba = _bystanderLba;
        _bystanderLba += 8;
        Assert.Equal(0, await _bystander.WriteAsync(lba, data));
        Assert.Equal(data, await _bystander.ReadAsync(lba, 8));
        Assert.True(await _bystander.PingAsync());
    }

    private async Task<RawInitiator> VictimAsync(bool headerDigest = false, bool dataDigest = false) =>
        await RawInitiator.LoginAsync(_server.Port, headerDigest, dataDigest);

    private static void AssertReject(RawInitiator.Pdu? pdu, byte reason, byte[] rejectedBhs)
    {
        Assert.NotNull(pdu);
        Assert.Equal(0x3f, pdu.Opcode);
        Assert.Equal(reason, pdu.Bhs[2]);
        Assert.Equal(0xFFFF_FFFFu, pdu.Field(16));
        // RFC 7143 §11.17: the data segment is the rejected PDU's header.
        Assert.Equal(rejectedBhs[..1], pdu.Data[..1]);
    }

    [Fact]
    public async Task UnknownOpcodeIsRejectedAndTheConnectionLives()
    {
        using RawInitiator victim = await VictimAsync();
        byte[] bhs = victim.NopOut(victim.NextTag(), victim.CmdSN);
        bhs[0] = 0x40 | 0x1c;
        await victim.SendAsync(bhs, [1, 2, 3]);
        AssertReject(await victim.ReceiveResponseAsync(Wait), 0x05, bhs);
        Assert.True(await victim.PingAsync());
        await AssertBystanderStillWorksAsync();
    }

    [Fact]
    public async Task AhsLengthPastTheEndIsRejected()
    {
        using RawInitiator victim = await VictimAsync();
        byte[] bhs = victim.ScsiCommand(victim.NextTag(), 0x80, 0, new byte[16]);
        victim.CmdSN--; // The rejected command does not consume its CmdSN.
        // One AHS word whose AHSLength claims 255 bytes.
        await victim.SendAsync(bhs, ahs: [0x00, 0xFF, 0x01, 0x00]);
        AssertReject(await victim.ReceiveResponseAsync(Wait), 0x09, bhs);
        Assert.True(await victim.PingAsync());
        await AssertBystanderStillWorksAsync();
    }

    [Fact]
    public async Task DataSegmentOverMaxRecvDataSegmentLengthClosesTheConnection()
    {
        using RawInitiator victim = await VictimAsync();
        byte[] bhs = victim.NopOut(victim.NextTag(), victim.CmdSN);
        await victim.SendAsync(bhs, new byte[1024], declaredDataLength: 300_000);
        try
        {
            RawInitiator.Pdu? pdu = await victim.ReceiveResponseAsync(Wait);
            if (pdu is not null) AssertReject(pdu, 0x04, bhs);
        }
        catch (EndOfStreamException)
        {
        }
        Assert.True(await victim.IsClosedAsync(Wait));
        await AssertBystanderStillWorksAsync();
    }

    [Fact]
    public async Task WrongHeaderDigestClosesTheConnection()
    {
        using RawInitiator victim = await VictimAsync(headerDigest: true);
        Assert.True(await victim.PingAsync());
        await victim.SendAsync(victim.NopOut(victim.NextTag(), victim.CmdSN), corruptHeaderDigest: true);
        Assert.True(await victim.IsClosedAsync(Wait));
        await AssertBystanderStillWorksAsync();
    }

    [Fact]
    public async Task WrongDataDigestIsRejected()
    {
        using RawInitiator victim = await VictimAsync(headerDigest: true, dataDigest: true);
        Assert.True(await victim.PingAsync());
        byte[] bhs = victim.NopOut(victim.NextTag(), victim.CmdSN);
        await victim.SendAsync(bhs, Encoding.ASCII.GetBytes("corrupted"), corruptDataDigest: true);
        AssertReject(await victim.ReceiveResponseAsync(Wait), 0x02, bhs);
        Assert.True(await victim.PingAsync());
        await AssertBystanderStillWorksAsync();
    }

    private static byte[] TextRequest(RawInitiator victim)
    {
        byte[] bhs = new byte[48];
        bhs[0] = 0x40 | 0x04; // immediate Text Request
        bhs[1] = 0x80;
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), victim.NextTag());
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(20), 0xFFFF_FFFF);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(24), victim.CmdSN);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(28), victim.ExpStatSN);
        return bhs;
    }

    [Fact]
    public async Task TextKeyWithoutEqualsIsRejected()
    {
        using RawInitiator victim = await VictimAsync();
        byte[] bhs = TextRequest(victim);
        await victim.SendAsync(bhs, Encoding.ASCII.GetBytes("SendTargets\0"));
        AssertReject(await victim.ReceiveResponseAsync(Wait), 0x04, bhs);
        Assert.True(await victim.PingAsync());
        await AssertBystanderStillWorksAsync();
    }

    [Fact]
    public async Task SixtyFourKibibytesOfKeysAreRejected()
    {
        using RawInitiator victim = await VictimAsync();
        var text = new StringBuilder();
        for (int i = 0; text.Length < 70_000; i++) text.Append("X-com.example.Key").Append(i).Append('=').Append(new string('v', 200)).Append('\0');
        byte[] bhs = TextRequest(victim);
        await victim.SendAsync(bhs, Encoding.ASCII.GetBytes(text.ToString()));
        AssertReject(await victim.ReceiveResponseAsync(Wait), 0x04, bhs);
        Assert.True(await victim.PingAsync());
        await AssertBystanderStillWorksAsync();
    }

    [Fact]
    public async Task SendTargetsInANormalSessionReportsOnlyThisTarget()
    {
        using RawInitiator victim = await VictimAsync();
        await victim.SendAsync(TextRequest(victim), Encoding.ASCII.GetBytes("SendTargets=All\0"));
        RawInitiator.Pdu? response = await victim.ReceiveResponseAsync(Wait);
        Assert.NotNull(response);
        Assert.Equal(0x24, response.Opcode);
        string answer = Encoding.ASCII.GetString(response.Data);
        Assert.Contains("TargetName=iqn.2026-11.io.sds:demo\0", answer);
        Assert.Contains($"TargetAddress=127.0.0.1:{_server.Port},1\0", answer);
    }

    [Fact]
    public async Task CmdSNFarOutsideTheWindowIsIgnored()
    {
        using RawInitiator victim = await VictimAsync();
        // RFC 7143 §4.2.2.1: a non-immediate PDU outside [ExpCmdSN, MaxCmdSN] is silently ignored.
        await victim.SendAsync(victim.NopOut(victim.NextTag(), victim.CmdSN + 100_000, immediate: false));
        Assert.Null(await victim.ReceiveResponseAsync(TimeSpan.FromSeconds(2)));
        Assert.True(await victim.PingAsync());
        await AssertBystanderStillWorksAsync();
    }

    [Fact]
    public async Task LoginRequestInFullFeaturePhaseIsRejected()
    {
        using RawInitiator victim = await VictimAsync();
        byte[] bhs = new byte[48];
        bhs[0] = 0x43;
        bhs[1] = 0x87;
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), victim.NextTag());
        await victim.SendAsync(bhs, Encoding.ASCII.GetBytes("InitiatorName=iqn.x\0"));
        AssertReject(await victim.ReceiveResponseAsync(Wait), 0x04, bhs);
        Assert.True(await victim.PingAsync());
        await AssertBystanderStillWorksAsync();
    }

    [Fact]
    public async Task SnackAtErrorRecoveryLevelZeroIsRejected()
    {
        using RawInitiator victim = await VictimAsync();
        byte[] bhs = new byte[48];
        bhs[0] = 0x10;
        bhs[1] = 0x80;
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), 0xFFFF_FFFF);
        await victim.SendAsync(bhs);
        AssertReject(await victim.ReceiveResponseAsync(Wait), 0x03, bhs);
        Assert.True(await victim.PingAsync());
        await AssertBystanderStillWorksAsync();
    }

    [Fact]
    public async Task GarbageInsteadOfALoginClosesTheConnection()
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync("127.0.0.1", _server.Port);
        byte[] garbage = new byte[4096];
        new Random(9).NextBytes(garbage);
        garbage[0] = 0x01; // a SCSI Command before login
        await client.GetStream().WriteAsync(garbage);
        using var cancel = new CancellationTokenSource(Wait);
        byte[] buffer = new byte[256];
        int read;
        try
        {
            do read = await client.GetStream().ReadAsync(buffer, cancel.Token); while (read > 0);
        }
        catch (IOException)
        {
        }
        Assert.False(cancel.IsCancellationRequested, "the target must close the connection");
        await AssertBystanderStillWorksAsync();
    }

    [Fact]
    public async Task SessionReinstatementReplacesTheOldSession()
    {
        using RawInitiator first = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_0077, initiatorName: "iqn.2026-11.io.sds:reinstated");
        Assert.True(await first.PingAsync());
        // RFC 7143 §6.3.5: same initiator name and ISID with TSIH 0 reinstates; the old connection is closed.
        using RawInitiator second = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_0077, initiatorName: "iqn.2026-11.io.sds:reinstated");
        Assert.True(await first.IsClosedAsync(Wait));
        Assert.True(await second.PingAsync());
        await AssertBystanderStillWorksAsync();
    }
}
