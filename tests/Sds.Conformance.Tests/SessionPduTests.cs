using System.Buffers.Binary;
using System.Text;

namespace Sds.Conformance.Tests;

/// <summary>
/// Proves full-feature-phase requests other than SCSI commands on a raw socket against the real
/// server: Text continuation (C bit), Logout reasons and their responses (RFC 7143 §11.14/§11.15),
/// and Task Management responses (§11.6.1).
/// </summary>
public class SessionPduTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private SdsServer _server = null!;

    public async Task InitializeAsync() => _server = await SdsServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static byte[] Request(byte opcode, byte flags, uint itt, uint field20, uint cmdSN, uint expStatSN, bool immediate = true)
    {
        byte[] bhs = new byte[48];
        bhs[0] = (byte)((immediate ? 0x40 : 0) | opcode);
        bhs[1] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), itt);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(20), field20);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(24), cmdSN);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(28), expStatSN);
        return bhs;
    }

    [Fact]
    public async Task TextRequestSplitWithTheContinueBit()
    {
        using RawInitiator initiator = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_0201);
        uint itt = initiator.NextTag();
        await initiator.SendAsync(Request(0x04, 0x40, itt, 0xFFFF_FFFF, initiator.CmdSN, initiator.ExpStatSN), Encoding.ASCII.GetBytes("SendTar"));
        RawInitiator.Pdu? partial = await initiator.ReceiveResponseAsync(Wait);
        Assert.NotNull(partial);
        Assert.Equal(0x24, partial.Opcode);
        Assert.Empty(partial.Data);
        Assert.Equal(0, partial.Bhs[1] & 0x80);
        await initiator.SendAsync(Request(0x04, 0x80, itt, 0xFFFF_FFFF, initiator.CmdSN, initiator.ExpStatSN), Encoding.ASCII.GetBytes("gets=All\0"));
        RawInitiator.Pdu? answer = await initiator.ReceiveResponseAsync(Wait);
        Assert.NotNull(answer);
        Assert.Equal(0x80, answer.Bhs[1] & 0xC0);
        Assert.Contains("TargetName=iqn.2026-11.io.sds:demo", Encoding.ASCII.GetString(answer.Data));
    }

    [Theory]
    [InlineData(1, 0x1234, 1)] // close the connection, wrong CID: "CID not found"
    [InlineData(2, 0, 2)] // remove the connection for recovery: "connection recovery is not supported"
    public async Task LogoutReasonsThatKeepTheConnection(int reason, int cid, int expectedResponse)
    {
        using RawInitiator initiator = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_0202 + (ulong)reason);
        uint itt = initiator.NextTag();
        await initiator.SendAsync(Request(0x06, (byte)(0x80 | reason), itt, (uint)cid << 16, initiator.CmdSN, initiator.ExpStatSN));
        RawInitiator.Pdu? response = await initiator.ReceiveResponseAsync(Wait);
        Assert.NotNull(response);
        Assert.Equal(0x26, response.Opcode);
        Assert.Equal(expectedResponse, response.Bhs[2]);
        Assert.True(await initiator.PingAsync());
    }

    [Fact]
    public async Task LogoutClosingTheSessionEndsTheConnection()
    {
        using RawInitiator initiator = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_0205);
        uint itt = initiator.NextTag();
        await initiator.SendAsync(Request(0x06, 0x80, itt, 0, initiator.CmdSN, initiator.ExpStatSN));
        RawInitiator.Pdu? response = await initiator.ReceiveResponseAsync(Wait);
        Assert.NotNull(response);
        Assert.Equal(0x26, response.Opcode);
        Assert.Equal(0, response.Bhs[2]);
        Assert.Equal(itt, response.Field(16));
        Assert.True(await initiator.IsClosedAsync(Wait));
    }

    [Theory]
    [InlineData(1, 0xDEAD_BEEFu, 1)] // ABORT TASK of an unknown task: "task does not exist"
    [InlineData(2, 0xFFFF_FFFFu, 0)] // ABORT TASK SET
    [InlineData(4, 0xFFFF_FFFFu, 0)] // CLEAR TASK SET
    [InlineData(5, 0xFFFF_FFFFu, 0)] // LOGICAL UNIT RESET
    [InlineData(8, 0xFFFF_FFFFu, 4)] // TASK REASSIGN at ERL 0: "not supported"
    [InlineData(15, 0xFFFF_FFFFu, 5)] // undefined function: "function not supported"
    public async Task TaskManagementResponses(int function, uint referencedTag, int expectedResponse)
    {
        using RawInitiator initiator = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_0300 + (ulong)function);
        uint itt = initiator.NextTag();
        byte[] bhs = Request(0x02, (byte)(0x80 | function), itt, referencedTag, initiator.CmdSN, initiator.ExpStatSN);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(32), initiator.CmdSN - 1); // RefCmdSN: already received
        await initiator.SendAsync(bhs);
        RawInitiator.Pdu? response = await initiator.ReceiveResponseAsync(Wait);
        Assert.NotNull(response);
        Assert.Equal(0x22, response.Opcode);
        Assert.Equal(itt, response.Field(16));
        Assert.Equal(expectedResponse, response.Bhs[2]);
        Assert.True(await initiator.PingAsync());
    }
}
