using System.Diagnostics;
using Sds.Testing;

namespace Sds.Meta.Tests.Cli;

/// <summary>
/// The all-in-one <c>sds server</c> serves the management API on --api: admin commands work against it, its storage
/// node and gateway are nodes of the map, and
/// (when libiscsi's tools are installed) a target created through the API is visible to a real initiator on the
/// gateway without a restart, with its size, growth and removal.
/// </summary>
public sealed class ServerCommandTests : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private readonly string root = Path.Combine(Path.GetTempPath(), "sds-server-test-" + Guid.NewGuid().ToString("N"));
    private Process? server;

    [Fact]
    public async Task AdminCommandsDriveTheEmbeddedMetaAndTheGateway()
    {
        string api = $"127.0.0.1:{TestPorts.Free()}";
        string portal = $"127.0.0.1:{TestPorts.Free()}";
        server = SdsProcess.Start(["server", "--data", root, "--api", api, "--portal", portal], root + ".log");
        (int exit, string stdout, string stderr) = await SdsProcess.RunAsync(CommandTimeout, "status", "--api", api);
        Assert.True(exit == 0, stderr);
        Assert.Contains("meta-1", stdout, StringComparison.Ordinal);
        const string iqn = "iqn.2026-11.io.sds:server-test";
        Assert.Equal(0, (await SdsProcess.RunAsync(CommandTimeout, "volume", "create", "s1", "--size", "32MiB", "--api", api)).ExitCode);
        Assert.Equal(0, (await SdsProcess.RunAsync(CommandTimeout, "target", "create", iqn, "--api", api)).ExitCode);
        Assert.Equal(0, (await SdsProcess.RunAsync(CommandTimeout, "lun", "map", iqn, "0", "s1", "--api", api)).ExitCode);
        // The co-located storage node and gateway register like the nodes of a cluster (DESIGN.md §7), the gateway
        // once the storage node's PGs have leaders: the API answers before that, so look for a while (at most 30 s).
        for (int attempt = 0; attempt < 60; attempt++)
        {
            (exit, stdout, _) = await SdsProcess.RunAsync(CommandTimeout, "node", "list", "--api", api);
            Assert.Equal(0, exit);
            if (stdout.Contains("local-gateway", StringComparison.Ordinal)) break;
            await Task.Delay(500);
        }

        Assert.Contains("local-storage", stdout, StringComparison.Ordinal);
        Assert.Contains("local-gateway", stdout, StringComparison.Ordinal);

        if (!File.Exists("/usr/bin/iscsi-readcapacity16"))
        {
            return; // libiscsi-bin not installed: the API half is still checked
        }

        Assert.Contains("RETURNED LOGICAL BLOCK ADDRESS:65535", await Eventually("iscsi-readcapacity16", $"iscsi://{portal}/{iqn}/0", "RETURNED LOGICAL BLOCK ADDRESS:65535"));
        Assert.Equal(0, (await SdsProcess.RunAsync(CommandTimeout, "volume", "resize", "s1", "--size", "64MiB", "--api", api)).ExitCode);
        Assert.Contains("RETURNED LOGICAL BLOCK ADDRESS:131071", await Eventually("iscsi-readcapacity16", $"iscsi://{portal}/{iqn}/0", "RETURNED LOGICAL BLOCK ADDRESS:131071"));
        // The volume's blocks live in the embedded storage node (replicated volumes, replicas=1), not in a file per volume.
        Assert.True(File.Exists(Path.Combine(root, "storage", "member-id")));
        Assert.False(Directory.Exists(Path.Combine(root, "volumes")));
    }

    public void Dispose()
    {
        TestProcesses.Stop(server);
        try
        {
            Directory.Delete(root, recursive: true);
            File.Delete(root + ".log");
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Runs a libiscsi tool until its output contains <paramref name="expected"/> (the gateway applies the map asynchronously), at most ~10 s.</summary>
    private static async Task<string> Eventually(string tool, string url, string expected)
    {
        string output = string.Empty;
        for (int attempt = 0; attempt < 50; attempt++)
        {
            var info = new ProcessStartInfo(tool, url) { RedirectStandardOutput = true, RedirectStandardError = true };
            using Process process = Process.Start(info)!;
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Task<string> read = process.StandardOutput.ReadToEndAsync(cancel.Token);
            await process.WaitForExitAsync(cancel.Token);
            output = await read;
            if (output.Contains(expected, StringComparison.Ordinal)) return output;
            await Task.Delay(200);
        }

        return output;
    }
}
