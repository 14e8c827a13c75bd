using System.Buffers.Binary;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Sds.Gateway.Iscsi;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Scsi;
using Sds.Gateway.Transport;
using Sds.Testing;

namespace Sds.Conformance.Tests;

/// <summary>
/// Proves that an initiator which drops its connection and logs in again finds the old I_T nexus
/// lost (SAM-5 §6.3.4; SBC-3 r36 §5.14: medium removal prevention ends), whatever the scheduling of
/// the old connection's cleanup — the cause of libiscsi PreventAllow.ITNexusLoss failing about one
/// full run in six (issue #3). Method: session A prevents medium removal, then holds its cleanup
/// back with a SYNCHRONIZE CACHE parked in a gated block device, and drops its socket. Session B
/// (same initiator name, new ISID, so a new nexus) logs in and ejects. Before the fix B's login
/// completed at once and the eject met A's prevention (MEDIUM REMOVAL PREVENTED) every time; now the
/// login waits for A's cleanup, so the eject succeeds.
/// </summary>
public class NexusLossOrderingTests : IAsyncLifetime
{
    private const string InitiatorName = "iqn.2026-11.io.sds:nexus-loss";
    private readonly GatedBlockDevice _device = new(1 << 20);
    private IscsiTargetServer _server = null!;
    private PortalListener _listener = null!;
    private int _port;

    public Task InitializeAsync()
    {
        var target = new ScsiTargetDevice();
        target.AddLogicalUnit(0, new LogicalUnit(_device, new LogicalUnitIdentity(Guid.Parse("6f1d6d55-7c2a-4a57-9d7e-0b6a1c2d3e44")), removable: true));
        var catalog = new TargetCatalog();
        catalog.AddTarget(new TargetNode("iqn.2026-11.io.sds:demo", null, target));
        _port = TestPorts.Free();
        var portal = new Portal(new IPEndPoint(IPAddress.Loopback, _port), 1, 1, 1);
        catalog.AddPortal(portal);
        _server = new IscsiTargetServer(catalog, new IscsiServerOptions(), NullLoggerFactory.Instance);
        _listener = PortalListener.TryStart(portal, _server, out string? error) ?? throw new InvalidOperationException(error);
        _listener.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _device.Open();
        await _listener.DisposeAsync();
        await _server.StopAsync();
    }

    [Fact]
    public async Task ReloginAfterADroppedConnectionFindsThePreventionEnded()
    {
        RawInitiator first = await RawInitiator.LoginAsync(_port, isid: 0x8000_0000_00A1, initiatorName: InitiatorName);
        Assert.True(await first.ClearUnitAttentionAsync());
        // SBC-3 r36 §5.14 PREVENT ALLOW MEDIUM REMOVAL, PREVENT = 01b.
        Assert.Equal(0, await CommandAsync(first, [0x1E, 0, 0, 0, 0x01, 0]));
        // A command that stays executing: the old connection's cleanup waits for it (RFC 7143 §7, ERL 0).
        _device.Close();
        await first.SendAsync(first.ScsiCommand(first.NextTag(), 0x80, 0, [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        await _device.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        first.Dispose();

        Task<RawInitiator> relogin = RawInitiator.LoginAsync(_port, isid: 0x8000_0000_00A2, initiatorName: InitiatorName);
        // The login may not complete while A's cleanup is parked; if it does (the old behaviour), the
        // eject below runs while A's prevention is certainly still in force and fails.
        Task first_ = await Task.WhenAny(relogin, Task.Delay(TimeSpan.FromMilliseconds(500)));
        bool loggedInBeforeCleanup = first_ == relogin;
        RawInitiator second;
        if (loggedInBeforeCleanup)
        {
            second = await relogin;
            Assert.True(await second.ClearUnitAttentionAsync());
        }
        else
        {
            _device.Open();
            second = await relogin.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(await second.ClearUnitAttentionAsync());
        }
        using (second)
        {
            // START STOP UNIT with LOEJ=1, START=0: eject (SBC-3 r36 §5.20).
            int eject = await CommandAsync(second, [0x1B, 0, 0, 0, 0x02, 0]);
            _device.Open();
            Assert.False(loggedInBeforeCleanup, "the relogin completed while the dropped connection still held its I_T nexus");
            Assert.Equal(0, eject);
            // Load the medium again.
            Assert.Equal(0, await CommandAsync(second, [0x1B, 0, 0, 0, 0x03, 0]));
        }
    }

    /// <summary>Sends a CDB without data and returns the SCSI status (-1 when no response came).</summary>
    private static async Task<int> CommandAsync(RawInitiator initiator, byte[] cdb)
    {
        uint itt = initiator.NextTag();
        byte[] padded = new byte[16];
        cdb.CopyTo(padded, 0);
        await initiator.SendAsync(initiator.ScsiCommand(itt, 0x80, 0, padded));
        RawInitiator.Pdu? response = await initiator.ReceiveResponseAsync(TimeSpan.FromSeconds(10));
        if (response is null || response.Opcode != 0x21 || response.Field(16) != itt) return -1;
        initiator.ExpStatSN = BinaryPrimitives.ReadUInt32BigEndian(response.Bhs.AsSpan(24)) + 1;
        return response.Bhs[3];
    }
}
