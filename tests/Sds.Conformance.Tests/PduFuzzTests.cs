using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sds.Gateway.Block;
using Sds.Gateway.Iscsi;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Scsi;
using Sds.Gateway.Transport;
using Sds.Testing;

namespace Sds.Conformance.Tests;

/// <summary>
/// Seeded fuzzing of the whole receive path (STYLE.md): random PDUs — every opcode, random flags,
/// AHS and data segments — before and after login. Every input must end in a value (Reject,
/// response, or a closed connection): no Error/Critical log (the connection boundary logs any
/// unexpected exception as a bug), and a bystander session keeps doing verified I/O.
/// Reproduce a failure with the printed seed.
/// </summary>
public class PduFuzzTests : IAsyncLifetime
{
    private const int Seed = 674386;
    private static readonly byte[] Opcodes = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x1c, 0x3f, 0x20, 0x25];
    private readonly RecordingLoggerProvider _logs = new();
    private IscsiTargetServer _server = null!;
    private PortalListener _listener = null!;
    private ILoggerFactory _loggerFactory = null!;
    private int _port;

    public Task InitializeAsync()
    {
        var device = new ScsiTargetDevice();
        device.AddLogicalUnit(0, new LogicalUnit(new MemoryBlockDevice(16 << 20), new LogicalUnitIdentity(Guid.Parse("a3c9f6de-1b52-4c3b-8d2c-5e7f90a1b2c3"))));
        var catalog = new TargetCatalog();
        catalog.AddTarget(new TargetNode("iqn.2026-11.io.sds:demo", null, device));
        _port = TestPorts.Free();
        var portal = new Portal(new IPEndPoint(IPAddress.Loopback, _port), 1, 1, 1);
        catalog.AddPortal(portal);
        _loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(_logs));
        _server = new IscsiTargetServer(catalog, new IscsiServerOptions { DrainTimeout = TimeSpan.FromSeconds(5) }, _loggerFactory);
        _listener = PortalListener.TryStart(portal, _server, out string? error) ?? throw new InvalidOperationException(error);
        _listener.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _listener.DisposeAsync();
        await _server.StopAsync();
        _loggerFactory.Dispose();
    }

    private static byte[] RandomPdu(Random random, RawInitiator? session)
    {
        byte[] bhs = new byte[48];
        random.NextBytes(bhs);
        bhs[0] = (byte)((random.Next(2) == 0 ? 0x40 : 0) | Opcodes[random.Next(Opcodes.Length)]);
        int ahsWords = random.Next(4) == 0 ? random.Next(1, 4) : 0;
        int dataLength = random.Next(3) == 0 ? random.Next(0, 9000) : random.Next(0, 64);
        // TARGET COLD RESET legitimately drops every session of the target, the bystander's too (RFC 7143 §11.5.1): fuzz the others.
        if ((bhs[0] & 0x3f) == 0x02 && (bhs[1] & 0x7f) == 7) bhs[1] = 0x86;
        bhs[4] = (byte)ahsWords;
        bhs[5] = (byte)(dataLength >> 16);
        bhs[6] = (byte)(dataLength >> 8);
        bhs[7] = (byte)dataLength;
        if (session is not null && random.Next(2) == 0)
        {
            // Half the time a plausible CmdSN, so the PDU reaches deeper than the window check.
            BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(24), session.CmdSN);
            if ((bhs[0] & 0x3f) == 0x01) session.CmdSN++;
        }
        byte[] ahs = new byte[ahsWords * 4];
        random.NextBytes(ahs);
        byte[] data = new byte[(dataLength + 3) & ~3];
        random.NextBytes(data);
        return [.. bhs, .. ahs, .. data];
    }

    [Fact]
    public async Task RandomPdusNeverBreakTheServer()
    {
        using RawInitiator bystander = await RawInitiator.LoginAsync(_port, isid: 0x8000_0000_0F0F, initiatorName: "iqn.2026-11.io.sds:bystander");
        Assert.True(await bystander.ClearUnitAttentionAsync());
        var random = new Random(Seed);
        for (int round = 0; round < 120; round++)
        {
            bool loggedIn = random.Next(4) != 0;
            RawInitiator? session = null;
            TcpClient? raw = null;
            NetworkStream stream;
            if (loggedIn)
            {
                session = await RawInitiator.LoginAsync(_port, isid: 0x8000_0000_1000 + (ulong)round);
                stream = session.Stream;
            }
            else
            {
                raw = new TcpClient();
                await raw.ConnectAsync("127.0.0.1", _port);
                stream = raw.GetStream();
            }
            try
            {
                for (int i = 0; i < 6; i++) await stream.WriteAsync(RandomPdu(random, session));
                await Task.Delay(5);
            }
            catch (IOException)
            {
                // The target closed the connection: an accepted outcome.
            }
            session?.Dispose();
            raw?.Dispose();
            if (round % 20 == 0)
            {
                byte[] data = new byte[4096];
                random.NextBytes(data);
                // Fuzzed task management (LUN or target resets) legitimately leaves unit attentions
                // for other nexuses (SAM-5 §5.14): clear them, then the I/O must succeed.
                Assert.True(await bystander.ClearUnitAttentionAsync());
                Assert.Equal(0, await bystander.WriteAsync((uint)(round * 8), data));
                Assert.Equal(data, await bystander.ReadAsync((uint)(round * 8), 8));
            }
        }
        await Task.Delay(500);
        Assert.True(_logs.Errors.IsEmpty, $"seed={Seed}: " + string.Join("\n", _logs.Errors));
        Assert.True(await bystander.PingAsync());
    }
}
