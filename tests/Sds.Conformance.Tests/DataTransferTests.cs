namespace Sds.Conformance.Tests;

/// <summary>
/// Proves the write data paths of RFC 7143 §4.2.5/§10.7–§10.8 against the real server on a raw
/// socket: R2Ts honour MaxBurstLength and MaxOutstandingR2T with R2TSN counting from 0,
/// unsolicited Data-Out up to FirstBurstLength when InitialR2T=No, and the data lands intact.
/// Also session continuation (TSIH ≠ 0) is refused, and shutdown sends the Async logout request.
/// </summary>
public class DataTransferTests : IAsyncLifetime
{
    private SdsServer _server = null!;

    public async Task InitializeAsync() => _server = await SdsServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task SolicitedWriteFollowsMaxBurstLength()
    {
        using RawInitiator initiator = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_0101,
            extraKeys: "InitialR2T=Yes\0ImmediateData=No\0MaxBurstLength=8192\0FirstBurstLength=4096\0MaxOutstandingR2T=2\0");
        Assert.True(await initiator.ClearUnitAttentionAsync());
        byte[] data = new byte[64 * 1024];
        new Random(7143).NextBytes(data);
        (int status, List<(uint Offset, uint Length, uint R2TSN)> r2ts) = await initiator.WriteWithR2TAsync(2048, data, unsolicitedBytes: 0, segmentBytes: 3000);
        Assert.Equal(0, status);
        Assert.Equal(8, r2ts.Count);
        for (int i = 0; i < r2ts.Count; i++)
        {
            Assert.Equal((uint)(i * 8192), r2ts[i].Offset);
            Assert.Equal(8192u, r2ts[i].Length);
            Assert.Equal((uint)i, r2ts[i].R2TSN);
        }
        Assert.Equal(data, await initiator.ReadAsync(2048, data.Length / 512));
    }

    [Fact]
    public async Task UnsolicitedDataThenR2TsForTheRest()
    {
        using RawInitiator initiator = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_0102,
            extraKeys: "InitialR2T=No\0ImmediateData=No\0MaxBurstLength=16384\0FirstBurstLength=8192\0");
        Assert.True(await initiator.ClearUnitAttentionAsync());
        byte[] data = new byte[40 * 1024];
        new Random(3720).NextBytes(data);
        (int status, List<(uint Offset, uint Length, uint R2TSN)> r2ts) = await initiator.WriteWithR2TAsync(4096, data, unsolicitedBytes: 8192, segmentBytes: 4096);
        Assert.Equal(0, status);
        Assert.Equal(2, r2ts.Count);
        Assert.Equal((8192u, 16384u, 0u), r2ts[0]);
        Assert.Equal((24576u, 16384u, 1u), r2ts[1]);
        Assert.Equal(data, await initiator.ReadAsync(4096, data.Length / 512));
    }

    [Fact]
    public async Task SessionContinuationIsRefused()
    {
        using RawInitiator first = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_0103);
        // RFC 7143 §6.3.1: a nonzero TSIH adds a connection; MaxConnections=1 refuses it.
        (RawInitiator? second, ushort status) = await RawInitiator.TryLoginAsync(_server.Port, false, false, 0x8000_0000_0103, "iqn.2026-11.io.sds:raw", "", first.Tsih);
        Assert.Null(second);
        Assert.Equal(0x0206, status);
        (second, status) = await RawInitiator.TryLoginAsync(_server.Port, false, false, 0x8000_0000_0104, "iqn.2026-11.io.sds:raw", "", 0xBEEF);
        Assert.Null(second);
        Assert.Equal(0x020A, status);
        Assert.True(await first.PingAsync());
    }

    [Fact]
    public async Task ShutdownAsksInitiatorsToLogOut()
    {
        using RawInitiator initiator = await RawInitiator.LoginAsync(_server.Port, isid: 0x8000_0000_0105);
        Task<int> stopping = _server.StopAsync();
        RawInitiator.Pdu? message = await initiator.ReceiveAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(message);
        Assert.Equal(0x32, message.Opcode);
        Assert.Equal(1, message.Bhs[36]); // AsyncEvent 1: target requests logout (RFC 7143 §11.9.1)
        Assert.True(await initiator.IsClosedAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal(0, await stopping);
    }
}
