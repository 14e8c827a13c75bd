using System.Security.Cryptography;

namespace Sds.Conformance.Tests;

/// <summary>
/// Proves interoperability with real initiators against the real server: libiscsi's iscsi-ls
/// (discovery on two portals), iscsi-inq, iscsi-readcapacity16, and QEMU's iSCSI driver moving
/// 64 MiB of random data in and out byte-identically.
/// </summary>
public class InitiatorToolTests : IAsyncLifetime
{
    private SdsServer _server = null!;

    public async Task InitializeAsync() => _server = await SdsServer.StartAsync(portals: 2);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [ToolFact("iscsi-ls")]
    public async Task DiscoveryListsTheDemoTargetOnEveryPortal()
    {
        Tools.Result result = await Tools.RunAsync("iscsi-ls", ["-s", $"iscsi://127.0.0.1:{_server.Port}"], TimeSpan.FromSeconds(60));
        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"Target:iqn.2026-11.io.sds:demo Portal:127.0.0.1:{_server.Ports[0]},1", result.StandardOutput);
        Assert.Contains($"Target:iqn.2026-11.io.sds:demo Portal:127.0.0.1:{_server.Ports[1]},2", result.StandardOutput);
        Assert.Contains("Lun:0", result.StandardOutput);
    }

    [ToolFact("iscsi-inq")]
    public async Task InquiryOverBothPaths()
    {
        for (int path = 0; path < 2; path++)
        {
            Tools.Result result = await Tools.RunAsync("iscsi-inq", [_server.DemoUrl(path)], TimeSpan.FromSeconds(60));
            Assert.Equal(0, result.ExitCode);
            Assert.Contains("Peripheral Device Type:DIRECT_ACCESS", result.StandardOutput);
        }
    }

    [ToolFact("iscsi-readcapacity16")]
    public async Task ReadCapacityReportsOneGibibyte()
    {
        Tools.Result result = await Tools.RunAsync("iscsi-readcapacity16", [_server.DemoUrl()], TimeSpan.FromSeconds(60));
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Total size:1073741824", result.StandardOutput);
    }

    [ToolFact("qemu-img")]
    public async Task QemuImgConvertRoundTripIsByteIdentical()
    {
        string directory = Path.Combine(Path.GetTempPath(), "sds-qemu-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            const int sizeBytes = 64 * 1024 * 1024;
            string source = Path.Combine(directory, "source.raw");
            string back = Path.Combine(directory, "back.raw");
            byte[] data = new byte[sizeBytes];
            new Random(674386).NextBytes(data);
            await File.WriteAllBytesAsync(source, data);
            Tools.Result write = await Tools.RunAsync("qemu-img", ["convert", "-n", "-f", "raw", "-O", "raw", source, _server.DemoUrl()], TimeSpan.FromMinutes(5));
            Assert.True(write.ExitCode == 0, write.StandardError);
            Tools.Result read = await Tools.RunAsync("qemu-img", ["convert", "-f", "raw", "-O", "raw", _server.DemoUrl(1), back], TimeSpan.FromMinutes(5));
            Assert.True(read.ExitCode == 0, read.StandardError);
            byte[] readBack = new byte[sizeBytes];
            await using (FileStream stream = File.OpenRead(back)) await stream.ReadExactlyAsync(readBack);
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(readBack));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
