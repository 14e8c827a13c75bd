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
        Assert.Matches(@"^127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+){2}$", lines[2]);
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

    /// <summary>
    /// Issue #7: the local cluster runs on meta's placement, so a storage node killed with kill -9 costs no data and
    /// no service. 32 MiB (8 chunks, so 8 PGs, each with a copy on every one of the 3 nodes) is written through gateway
    /// 1; storage-1 is killed; 32 MiB more is written through gateway 2 while the PGs it led elect new leaders; meta
    /// marks storage-1 out (up.sh sets a 2 s / 6 s down/out grace); a third range is written through gateway 1 after
    /// that map change; every range reads back with its pattern through both gateways. With 3 storage nodes and 3
    /// replicas there is no spare node to rebuild onto, so the PGs keep storage-1's slot and run on 2 of 3 voters.
    /// </summary>
    [ToolFact("iscsi-inq", "qemu-io")]
    public async Task KillNineOfOneStorageNodeLosesNoDataThroughEitherGateway()
    {
        await using LocalCluster cluster = await LocalCluster.StartAsync();
        (string Range, string Pattern, string Writer)[] ranges =
        [
            ("0 32M", "0x3c", cluster.Urls[0]),
            ("32M 32M", "0xc3", cluster.Urls[1]),
            ("64M 8M", "0x5e", cluster.Urls[0]),
        ];
        await WriteAsync(ranges[0]);

        int victim = cluster.Pid("storage-1");
        Tools.Result kill = await Tools.RunAsync("kill", ["-9", victim.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
        Assert.True(kill.ExitCode == 0, kill.StandardError);
        for (int i = 0; i < 100 && IsRunning(victim); i++) await Task.Delay(100);
        Assert.False(IsRunning(victim), "storage-1 is gone after kill -9");

        // The gateway's request budget (--io-timeout-ms, 15 s) covers the PG leader elections.
        await WriteAsync(ranges[1]);

        // Meta sees the silence: storage-1 goes DOWN then OUT (bounded wait, far above the 6 s grace).
        string nodes = "";
        for (int i = 0; i < 120; i++)
        {
            Tools.Result list = await cluster.AdminAsync("node", "list");
            nodes = list.StandardOutput;
            if (nodes.Split('\n').Any(static line => line.StartsWith("storage-1 ", StringComparison.Ordinal) && line.Contains(" out ", StringComparison.Ordinal))) break;
            await Task.Delay(500);
        }

        Assert.True(nodes.Split('\n').Any(static line => line.StartsWith("storage-1 ", StringComparison.Ordinal) && line.Contains(" out ", StringComparison.Ordinal)), "meta marks storage-1 out:\n" + nodes);
        await WriteAsync(ranges[2]);

        foreach (string url in cluster.Urls)
        {
            foreach ((string range, string pattern, _) in ranges)
            {
                Tools.Result read = await Tools.RunAsync("qemu-io", ["-f", "raw", "-c", $"read -P {pattern} {range}", url], TimeSpan.FromMinutes(2));
                Assert.True(read.ExitCode == 0, read.StandardOutput + read.StandardError);
                Assert.Matches(@"read (\d+)/\1 bytes", read.StandardOutput);
                Assert.DoesNotContain("Pattern verification failed", read.StandardOutput);
                Assert.DoesNotContain("error", read.StandardOutput, StringComparison.OrdinalIgnoreCase);
            }
        }

        static async Task WriteAsync((string Range, string Pattern, string Writer) range)
        {
            Tools.Result write = await Tools.RunAsync("qemu-io", ["-f", "raw", "-c", $"write -P {range.Pattern} {range.Range}", range.Writer], TimeSpan.FromMinutes(2));
            Assert.True(write.ExitCode == 0, write.StandardOutput + write.StandardError);
            Assert.Matches(@"wrote (\d+)/\1 bytes", write.StandardOutput);
            Assert.DoesNotContain("error", write.StandardOutput, StringComparison.OrdinalIgnoreCase);
        }
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
