using System.Buffers.Binary;

namespace Sds.Conformance.Tests;

/// <summary>
/// Proves that a SCSI Command the target rejects does not leave a hole in the CmdSN sequence
/// (RFC 7143 §4.2.2.1, §11.17.1): the command is discarded, its CmdSN counts as received, and the
/// next command is answered. Before the fix the rejected CmdSN stayed missing, ExpCmdSN stopped
/// there and every later command waited in the CmdSN queue with no response — the issue #3 stall,
/// whose trigger in iscsi-test-cu was a command rejected when the context pool ran dry. Method: a
/// raw initiator against the real <c>sds server</c> provokes a reject (an invalid ITT; an ITT still
/// in use), then sends TEST UNIT READY with the following CmdSN and waits for its response.
/// </summary>
public class CommandWindowTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private SdsServer _server = null!;

    public async Task InitializeAsync() => _server = await SdsServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task CommandAfterARejectedInvalidCommandIsAnswered()
    {
        using RawInitiator initiator = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_0301);
        Assert.True(await initiator.ClearUnitAttentionAsync());
        // RFC 7143 §11.2.1.8: ITT 0xffffffff is reserved; a SCSI Command carrying it is rejected (invalid PDU field).
        await initiator.SendAsync(initiator.ScsiCommand(0xFFFF_FFFF, 0x80, 0, new byte[16]));
        RawInitiator.Pdu? reject = await initiator.ReceiveResponseAsync(Wait);
        Assert.NotNull(reject);
        Assert.Equal(0x3f, reject.Opcode);
        Assert.Equal(0x09, reject.Bhs[2]);
        Assert.Equal(initiator.CmdSN, reject.Field(28));
        Assert.Equal(0, await TestUnitReadyAsync(initiator));
    }

    [Fact]
    public async Task CommandAfterARejectedDuplicateTagIsAnswered()
    {
        using RawInitiator initiator = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_0302);
        Assert.True(await initiator.ClearUnitAttentionAsync());
        // A WRITE(10) without data: with InitialR2T=Yes the target solicits it and the task stays open.
        uint itt = initiator.NextTag();
        byte[] cdb = new byte[16];
        cdb[0] = 0x2A;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), 8);
        await initiator.SendAsync(initiator.ScsiCommand(itt, 0x80 | 0x20, 4096, cdb));
        RawInitiator.Pdu? r2t = await initiator.ReceiveResponseAsync(Wait);
        Assert.NotNull(r2t);
        Assert.Equal(0x31, r2t.Opcode);
        // A second command with the same ITT while the first is open: Reject "task in progress" (§11.17.1).
        await initiator.SendAsync(initiator.ScsiCommand(itt, 0x80, 0, new byte[16]));
        RawInitiator.Pdu? reject = await initiator.ReceiveResponseAsync(Wait);
        Assert.NotNull(reject);
        Assert.Equal(0x3f, reject.Opcode);
        Assert.Equal(0x07, reject.Bhs[2]);
        // The first command completes with its solicited data.
        byte[] dataOut = new byte[48];
        dataOut[0] = 0x05;
        dataOut[1] = 0x80;
        BinaryPrimitives.WriteUInt32BigEndian(dataOut.AsSpan(16), itt);
        BinaryPrimitives.WriteUInt32BigEndian(dataOut.AsSpan(20), r2t.Field(20));
        BinaryPrimitives.WriteUInt32BigEndian(dataOut.AsSpan(28), initiator.ExpStatSN);
        await initiator.SendAsync(dataOut, new byte[4096]);
        RawInitiator.Pdu? response = await initiator.ReceiveResponseAsync(Wait);
        Assert.NotNull(response);
        Assert.Equal(0x21, response.Opcode);
        Assert.Equal(itt, response.Field(16));
        Assert.Equal(0, response.Bhs[3]);
        initiator.ExpStatSN = response.Field(24) + 1;
        // The rejected command's CmdSN counts as received: the next command is not held behind it.
        Assert.Equal(initiator.CmdSN, response.Field(28));
        Assert.Equal(0, await TestUnitReadyAsync(initiator));
    }

    /// <summary>
    /// The context pool holds however the initiator and the socket behave. Responses to 256 KiB
    /// READs (executed off the read loop) pile up behind a socket the initiator does not read, each
    /// having given its window slot back; the initiator keeps the window full by sending blind
    /// batches of 128 commands. Before the fix every early-released slot admitted one more command,
    /// so the contexts grew past CommandContextsMax and commands were rejected (IMMEDIATE COMMAND
    /// REJECT, which then held the session: see above); now early releases stop at
    /// EarlySlotReleasesMax, the window stays closed until responses drain, and surplus commands are
    /// outside the window (silently ignored, RFC 7143 §4.2.2.1). Every admitted READ is answered.
    /// </summary>
    [Fact]
    public async Task ResponsesStuckBehindASlowReaderDoNotExhaustTheContextPool()
    {
        using RawInitiator initiator = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_0303);
        Assert.True(await initiator.ClearUnitAttentionAsync());
        const int batch = 128, batches = 4, blocks = 512;
        for (int round = 0; round < batches; round++)
        {
            for (int i = 0; i < batch; i++)
            {
                byte[] cdb = new byte[16];
                cdb[0] = 0x28;
                BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), (uint)((round * batch + i) * blocks));
                BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), blocks);
                await initiator.SendAsync(initiator.ScsiCommand(initiator.NextTag(), 0x80 | 0x40, blocks * 512, cdb));
            }
            // Time for the target to execute the batch and give slots back while its sends block.
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
        int rejects = 0, answered = 0;
        while (await initiator.ReceiveAsync(TimeSpan.FromSeconds(3)) is { } pdu)
        {
            if (pdu.Opcode == 0x3f) rejects++;
            else if (pdu.Opcode == 0x21 || (pdu.Opcode == 0x25 && (pdu.Bhs[1] & 0x01) != 0)) answered++;
        }
        Assert.Equal(0, rejects);
        Assert.InRange(answered, batch, batch * batches);
    }

    /// <summary>TEST UNIT READY with the next CmdSN; returns the status, or -1 when no response came.</summary>
    private static async Task<int> TestUnitReadyAsync(RawInitiator initiator)
    {
        uint itt = initiator.NextTag();
        await initiator.SendAsync(initiator.ScsiCommand(itt, 0x80, 0, new byte[16]));
        RawInitiator.Pdu? response = await initiator.ReceiveResponseAsync(Wait);
        if (response is null || response.Opcode != 0x21 || response.Field(16) != itt) return -1;
        initiator.ExpStatSN = response.Field(24) + 1;
        return response.Bhs[3];
    }
}
