namespace Sds.Conformance.Tests.Cluster;

/// <summary>
/// deploy/local end to end (issue #7): up.sh starts 3 meta + 3 storage + 2 gateway processes and prints the demo
/// LUN's URL through each gateway and the management API address; both URLs answer iscsi-inq with the same device
/// identity; data written through one gateway reads back byte for byte through the other (qemu-img, qemu-io);
/// down.sh stops exactly the PIDs up.sh wrote and none of them is left running. Bounded: up.sh has its own
/// deadline, each tool run has a timeout, and down.sh runs in every case.
/// </summary>
public sealed class ClusterLocalDeployTests
{
    private const string Iqn = "iqn.2026-11.io.sds:demo";

    [ToolFact("iscsi-inq", "qemu-img", "qemu-io")]
    public async Task UpPrintsTwoGatewayUrlsThatServeOneVolumeAndDownStopsEveryProcess()
    {
        await using LocalCluster cluster = await LocalCluster.StartAsync();
        string state = cluster.State;
        string[] lines = [.. cluster.Urls, cluster.Api];
        Assert.Matches($@"^iscsi://127\.0\.0\.1:\d+/{Iqn}/0$", lines[0]);
        Assert.Matches($@"^iscsi://127\.0\.0\.1:\d+/{Iqn}/0$", lines[1]);
        Assert.NotEqual(lines[0], lines[1]);
        Assert.Matches(@"^127\.0\.0\.1:\d+$", lines[2]);
        string[] expectedPidFiles = ["gateway-1", "gateway-2", "meta-1", "meta-2", "meta-3", "storage-1", "storage-2", "storage-3"];
        Assert.Equal(expectedPidFiles, Directory.GetFiles(state, "*.pid").Select(f => Path.GetFileNameWithoutExtension(f)).Order().ToArray());
        List<int> pids = Directory.GetFiles(state, "*.pid").Select(f => int.Parse(File.ReadAllText(f).Trim())).ToList();
        Assert.All(pids, pid => Assert.True(IsRunning(pid), $"PID {pid} runs"));

        // Same LU identity (serial, NAA) through both gateways; only the target port designators differ.
        Tools.Result serialA = await Tools.RunAsync("iscsi-inq", ["-e", "1", "-c", "128", lines[0]], TimeSpan.FromSeconds(30));
        Tools.Result serialB = await Tools.RunAsync("iscsi-inq", ["-e", "1", "-c", "128", lines[1]], TimeSpan.FromSeconds(30));
        Assert.True(serialA.ExitCode == 0 && serialB.ExitCode == 0, serialA.StandardError + serialB.StandardError);
        Assert.Equal(serialA.StandardOutput, serialB.StandardOutput);
        Assert.Contains("Unit Serial Number", serialA.StandardOutput);

        // qemu-img: 4 MiB written through gateway 1, read back through gateway 2.
        string source = Path.Combine(state, "source.bin");
        string back = Path.Combine(state, "back.bin");
        byte[] data = new byte[4 * 1024 * 1024];
        new Random(20261121).NextBytes(data);
        await File.WriteAllBytesAsync(source, data);
        Tools.Result write = await Tools.RunAsync("qemu-img", ["convert", "-n", "-f", "raw", "-O", "raw", source, lines[0]], TimeSpan.FromMinutes(3));
        Assert.True(write.ExitCode == 0, write.StandardError);
        Tools.Result read = await Tools.RunAsync("qemu-img", ["dd", "-f", "raw", "-O", "raw", "bs=1M", "count=4", $"if={lines[1]}", $"of={back}"], TimeSpan.FromMinutes(3));
        Assert.True(read.ExitCode == 0, read.StandardError);
        byte[] readBack = await File.ReadAllBytesAsync(back);
        Assert.True(data.SequenceEqual(readBack), "bytes written through gateway 1 read back through gateway 2");

        // qemu-io the other way: a pattern written through gateway 2 verifies through gateway 1.
        Tools.Result pattern = await Tools.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 8M 1M", lines[1]], TimeSpan.FromMinutes(2));
        Assert.True(pattern.ExitCode == 0 && !pattern.StandardOutput.Contains("error", StringComparison.OrdinalIgnoreCase), pattern.StandardOutput + pattern.StandardError);
        // qemu-io reads it back through gateway 1.
        Tools.Result verify = await Tools.RunAsync("qemu-io", ["-f", "raw", "-c", "read -P 0x5a 8M 1M", lines[0]], TimeSpan.FromMinutes(2));
        Assert.True(verify.ExitCode == 0, verify.StandardOutput + verify.StandardError);
        Assert.Contains("read 1048576/1048576 bytes", verify.StandardOutput);
        Assert.DoesNotContain("Pattern verification failed", verify.StandardOutput);

        Tools.Result down = await cluster.StopAsync();
        Assert.True(down.ExitCode == 0, down.StandardError);
        Assert.Empty(Directory.GetFiles(state, "*.pid"));
        Assert.All(pids, pid => Assert.False(IsRunning(pid), $"PID {pid} is gone after down.sh"));
    }

    // Running and still an sds process (a PID recycled by another program does not count).
    private static bool IsRunning(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains("sds.dll", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
