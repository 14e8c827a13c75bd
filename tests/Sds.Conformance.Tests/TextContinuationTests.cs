using System.Buffers.Binary;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Sds.Gateway.Block;
using Sds.Gateway.Iscsi;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Scsi;
using Sds.Gateway.Transport;
using Sds.Testing;

namespace Sds.Conformance.Tests;

/// <summary>
/// Proves a Text Response longer than the initiator's MaxRecvDataSegmentLength is split (RFC 7143
/// §11.11: C=1 and a TTT on every part but the last, which has F=1), and the initiator collects it by
/// sending empty Text Requests carrying that TTT. An in-process server with 40 targets makes the
/// SendTargets=All answer of a discovery session several KiB long; the initiator declares 512 bytes.
/// </summary>
public class TextContinuationTests : IAsyncLifetime
{
    private const int TargetCount = 40;
    private IscsiTargetServer _server = null!;
    private PortalListener _listener = null!;
    private int _port;

    public Task InitializeAsync()
    {
        var catalog = new TargetCatalog();
        for (int i = 0; i < TargetCount; i++)
        {
            var device = new ScsiTargetDevice();
            device.AddLogicalUnit(0, new LogicalUnit(new MemoryBlockDevice(1 << 20), new LogicalUnitIdentity(Guid.NewGuid())));
            catalog.AddTarget(new TargetNode($"iqn.2026-11.io.sds:target-with-a-rather-long-name-{i:D3}", null, device));
        }
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
        await _listener.DisposeAsync();
        await _server.StopAsync();
    }

    [Fact]
    public async Task LongSendTargetsAnswerComesInParts()
    {
        using RawInitiator initiator = await DiscoveryLoginAsync();
        uint itt = initiator.NextTag();
        byte[] request = new byte[48];
        request[0] = 0x44;
        request[1] = 0x80;
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(16), itt);
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(20), 0xFFFF_FFFF);
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(24), initiator.CmdSN);
        await initiator.SendAsync(request, Encoding.ASCII.GetBytes("SendTargets=All\0"));
        var text = new List<byte>();
        for (int part = 0; part < 100; part++)
        {
            RawInitiator.Pdu? response = await initiator.ReceiveResponseAsync(TimeSpan.FromSeconds(10));
            Assert.NotNull(response);
            Assert.Equal(0x24, response.Opcode);
            Assert.True(response.Data.Length <= 512, "each part fits the initiator's MaxRecvDataSegmentLength");
            text.AddRange(response.Data);
            bool final = (response.Bhs[1] & 0x80) != 0;
            bool more = (response.Bhs[1] & 0x40) != 0;
            Assert.NotEqual(final, more);
            if (final)
            {
                Assert.Equal(0xFFFF_FFFFu, response.Field(20));
                break;
            }
            // §11.10.4: an empty Text Request with the target's TTT asks for the next part.
            byte[] next = (byte[])request.Clone();
            BinaryPrimitives.WriteUInt32BigEndian(next.AsSpan(20), response.Field(20));
            await initiator.SendAsync(next);
        }
        string answer = Encoding.ASCII.GetString(text.ToArray());
        Assert.True(answer.Length > 2048);
        for (int i = 0; i < TargetCount; i++) Assert.Contains($"TargetName=iqn.2026-11.io.sds:target-with-a-rather-long-name-{i:D3}\0TargetAddress=127.0.0.1:{_port},1\0", answer);
    }

    private async Task<RawInitiator> DiscoveryLoginAsync()
    {
        (RawInitiator? initiator, ushort status) = await RawInitiator.TryLoginAsync(_port, false, false, 0x8000_0000_0D15, "iqn.2026-11.io.sds:discoverer", "MaxRecvDataSegmentLength=512\0", 0, discovery: true);
        return initiator ?? throw new InvalidOperationException($"discovery login failed: 0x{status:x4}");
    }
}
