using System.Buffers.Binary;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Sds.Gateway.Block;
using Sds.Gateway.Iscsi;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Scsi;
using Sds.Gateway.Transport;
using Sds.Testing;

namespace Sds.Conformance.Tests;

/// <summary>
/// Proves the target-initiated NOP-In keep-alive (RFC 7143 §11.19) on virtual time: an idle
/// connection is pinged after NopInInterval, an answered ping keeps it, an unanswered one drops
/// it after NopInTimeout. The server runs in process with a <see cref="ManualTimeProvider"/>.
/// </summary>
public class KeepAliveTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _clock = new();
    private IscsiTargetServer _server = null!;
    private PortalListener _listener = null!;
    private int _port;

    public Task InitializeAsync()
    {
        var device = new ScsiTargetDevice();
        device.AddLogicalUnit(0, new LogicalUnit(new MemoryBlockDevice(1 << 20), new LogicalUnitIdentity(Guid.Parse("3b0e0c63-5d0c-4b8f-9a38-6d6a3c1f2e11"))));
        var catalog = new TargetCatalog();
        catalog.AddTarget(new TargetNode("iqn.2026-11.io.sds:demo", null, device));
        _port = TestPorts.Free();
        var portal = new Portal(new IPEndPoint(IPAddress.Loopback, _port), 1, 1, 1);
        catalog.AddPortal(portal);
        var options = new IscsiServerOptions { TimeProvider = _clock, NopInInterval = TimeSpan.FromSeconds(10), NopInTimeout = TimeSpan.FromSeconds(30) };
        _server = new IscsiTargetServer(catalog, options, NullLoggerFactory.Instance);
        _listener = PortalListener.TryStart(portal, _server, out string? error) ?? throw new InvalidOperationException(error);
        _listener.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _listener.DisposeAsync();
        foreach (Sds.Gateway.Iscsi.Session.IscsiSession session in _server.Registry.All()) session.Connection?.Abort();
    }

    private async Task<RawInitiator.Pdu> AdvanceUntilPingAsync(RawInitiator initiator)
    {
        for (int step = 0; step < 6; step++)
        {
            _clock.Advance(TimeSpan.FromSeconds(5));
            RawInitiator.Pdu? pdu = await initiator.ReceiveAsync(TimeSpan.FromMilliseconds(500));
            if (pdu is not null) return pdu;
        }
        throw new TimeoutException("no NOP-In ping");
    }

    [Fact]
    public async Task IdleConnectionIsPingedAndAnAnsweredPingKeepsIt()
    {
        using RawInitiator initiator = await RawInitiator.LoginAsync(_port);
        RawInitiator.Pdu ping = await AdvanceUntilPingAsync(initiator);
        Assert.Equal(0x20, ping.Opcode);
        Assert.Equal(0xFFFF_FFFFu, ping.Field(16));
        Assert.NotEqual(0xFFFF_FFFFu, ping.Field(20));
        // RFC 7143 §11.18: the answer echoes the TTT with ITT 0xffffffff, immediate.
        byte[] answer = initiator.NopOut(0xFFFF_FFFF, initiator.CmdSN);
        BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(20), ping.Field(20));
        await initiator.SendAsync(answer);
        await Task.Delay(200);
        for (int step = 0; step < 8; step++)
        {
            _clock.Advance(TimeSpan.FromSeconds(5));
            RawInitiator.Pdu? pdu = await initiator.ReceiveAsync(TimeSpan.FromMilliseconds(200));
            if (pdu is not null)
            {
                BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(20), pdu.Field(20));
                await initiator.SendAsync(answer);
                await Task.Delay(100);
            }
        }
        Assert.True(await initiator.PingAsync());
    }

    [Fact]
    public async Task UnansweredPingDropsTheConnection()
    {
        using RawInitiator initiator = await RawInitiator.LoginAsync(_port);
        await AdvanceUntilPingAsync(initiator);
        for (int step = 0; step < 8; step++) _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(await initiator.IsClosedAsync(TimeSpan.FromSeconds(10)));
    }
}
