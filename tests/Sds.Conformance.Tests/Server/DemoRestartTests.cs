namespace Sds.Conformance.Tests.Server;

/// <summary>
/// <c>sds server --data DIR --demo</c> builds the demo LUN through meta on the embedded cluster (DESIGN.md §7), and a
/// restart on the same directory finds it again instead of creating another: same volume (one "demo" volume in the
/// map), same LU identity (VPD 0x80 unit serial, derived from the volume UUID) and the data written before the
/// restart. Method: the real process twice on one data directory, written and read back with qemu-io, identity read
/// with iscsi-inq, the map listed with the sds CLI.
/// </summary>
public sealed class DemoRestartTests : IDisposable
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);
    private readonly string data = Path.Combine(Path.GetTempPath(), "sds-demo-restart-" + Guid.NewGuid().ToString("N"));

    [ToolFact("qemu-io", "iscsi-inq")]
    public async Task RestartFindsTheSameVolumeIdentityAndData()
    {
        string serialBefore;
        await using (SdsServer first = await SdsServer.StartInAsync(data, null, 1))
        {
            serialBefore = await UnitSerialAsync(first);
            Tools.Result write = await Tools.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 314572800 65536", "-c", "write -P 0x3c 0 4096", first.DemoUrl()], ToolTimeout);
            Assert.True(write.ExitCode == 0, write.StandardError + write.StandardOutput);
            Assert.Equal(0, await first.StopAsync());
        }

        await using SdsServer second = await SdsServer.StartInAsync(data, null, 1);
        Assert.Equal(serialBefore, await UnitSerialAsync(second));
        // qemu-io's read -P fails (and says "Pattern verification failed") unless every byte matches.
        Tools.Result read = await Tools.RunAsync("qemu-io", ["-f", "raw", "-c", "read -P 0x5a 314572800 65536", "-c", "read -P 0x3c 0 4096", "-c", "read -P 0 1048576 4096", second.DemoUrl()], ToolTimeout);
        Assert.True(read.ExitCode == 0 && !read.StandardOutput.Contains("fail", StringComparison.OrdinalIgnoreCase), read.StandardError + read.StandardOutput);
        Tools.Result volumes = await Tools.RunAsync("dotnet", [SdsServer.SdsDll(), "volume", "list", "--api", second.Api], ToolTimeout);
        Assert.Equal(0, volumes.ExitCode);
        Assert.Single(volumes.StandardOutput.Split('\n'), line => line.StartsWith("demo ", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task<string> UnitSerialAsync(SdsServer server)
    {
        Tools.Result inquiry = await Tools.RunAsync("iscsi-inq", ["-e", "1", "-c", "0x80", server.DemoUrl()], ToolTimeout);
        Assert.True(inquiry.ExitCode == 0, inquiry.StandardError);
        string serial = inquiry.StandardOutput.Trim();
        Assert.NotEmpty(serial);
        return serial;
    }
}
