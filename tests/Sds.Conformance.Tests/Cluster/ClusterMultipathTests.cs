using System.Buffers.Binary;
using System.Diagnostics;

namespace Sds.Conformance.Tests.Cluster;

/// <summary>
/// Multipath and live configuration on the local cluster (DESIGN.md §6, issue #7), through real processes:
/// REPORT TARGET PORT GROUPS on either gateway lists one active/optimized group per gateway; SendTargets on one
/// gateway returns both gateways' portals; after gateway 2 is killed with SIGKILL and meta marks it down, gateway 1
/// reports its group UNAVAILABLE and stops advertising its portal; a LUN mapped meanwhile appears on gateway 1
/// without a restart. Bounded: every wait has a deadline, and down.sh runs in every case.
/// </summary>
public sealed class ClusterMultipathTests
{
    [ToolFact("iscsi-inq", "iscsi-ls")]
    public async Task PortGroupsAndPortalsFollowTheMapAndANewLunAppearsWithoutRestart()
    {
        await using LocalCluster cluster = await LocalCluster.StartAsync();
        // One group per gateway, both active/optimized, whichever gateway answers.
        List<(ushort Group, byte State)> viaOne = await ReportTargetPortGroupsAsync(cluster.Port(0));
        List<(ushort Group, byte State)> viaTwo = await ReportTargetPortGroupsAsync(cluster.Port(1));
        Assert.Equal(2, viaOne.Count);
        Assert.Equal(viaOne, viaTwo);
        Assert.All(viaOne, g => Assert.Equal(0, g.State));
        string portals = (await Tools.RunAsync("iscsi-ls", ["-s", $"iscsi://127.0.0.1:{cluster.Port(0)}"], TimeSpan.FromSeconds(60))).StandardOutput;
        Assert.Contains($"127.0.0.1:{cluster.Port(0)},", portals);
        Assert.Contains($"127.0.0.1:{cluster.Port(1)},", portals);

        // kill -9 gateway 2: meta marks it down after its failure timeout (10 s), gateway 1 follows the map.
        Process.GetProcessById(cluster.Pid("gateway-2")).Kill();
        var stopwatch = Stopwatch.StartNew();
        List<(ushort Group, byte State)> after = viaOne;
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(90))
        {
            after = await ReportTargetPortGroupsAsync(cluster.Port(0));
            if (after.Count(g => g.State == 0x3) == 1) break;
            await Task.Delay(1000);
        }

        Console.WriteLine($"cluster multipath: gateway 2's group reported UNAVAILABLE {stopwatch.ElapsedMilliseconds} ms after kill -9");
        Assert.Equal(2, after.Count);
        Assert.Equal(1, after.Count(g => g.State == 0x0));
        Assert.Equal(1, after.Count(g => g.State == 0x3));
        portals = (await Tools.RunAsync("iscsi-ls", ["-s", $"iscsi://127.0.0.1:{cluster.Port(0)}"], TimeSpan.FromSeconds(60))).StandardOutput;
        Assert.Contains($"127.0.0.1:{cluster.Port(0)},", portals);
        Assert.DoesNotContain($"127.0.0.1:{cluster.Port(1)},", portals);

        // A new volume mapped as LUN 1 while gateway 2 is down appears on gateway 1 without a restart.
        Tools.Result create = await cluster.AdminAsync("volume", "create", "second", "--size", "64MiB", "--block-size", "512");
        Assert.True(create.ExitCode == 0, create.StandardError);
        Tools.Result map = await cluster.AdminAsync("lun", "map", "iqn.2026-11.io.sds:demo", "1", "second");
        Assert.True(map.ExitCode == 0, map.StandardError);
        string lunOne = cluster.Urls[0][..^1] + "1";
        Tools.Result inquiry = new(1, "", "", false);
        stopwatch.Restart();
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(60) && inquiry.ExitCode != 0)
        {
            inquiry = await Tools.RunAsync("iscsi-inq", [lunOne], TimeSpan.FromSeconds(30));
            if (inquiry.ExitCode != 0) await Task.Delay(500);
        }

        Assert.True(inquiry.ExitCode == 0, $"LUN 1 answers on gateway 1: {inquiry.StandardError}");
        Console.WriteLine($"cluster multipath: LUN 1 answered {stopwatch.ElapsedMilliseconds} ms after it was mapped");
    }

    // REPORT TARGET PORT GROUPS (SPC-4 r37 §6.37, MAINTENANCE IN 0xA3/0x0A) on LUN 0 through a raw session: the
    // (group id, asymmetric access state) of each descriptor. A pending unit attention is cleared first.
    private static async Task<List<(ushort Group, byte State)>> ReportTargetPortGroupsAsync(int port)
    {
        using RawInitiator initiator = await RawInitiator.LoginAsync(port, initiatorName: "iqn.2026-11.io.sds:rtpg");
        Assert.True(await initiator.ClearUnitAttentionAsync(), "TEST UNIT READY settles");
        byte[] cdb = new byte[16];
        cdb[0] = 0xA3;
        cdb[1] = 0x0A;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(6), 1024);
        uint itt = initiator.NextTag();
        await initiator.SendAsync(initiator.ScsiCommand(itt, 0x80 | 0x40 | 0x01, 1024, cdb));
        var data = new MemoryStream();
        while (true)
        {
            RawInitiator.Pdu? pdu = await initiator.ReceiveResponseAsync(TimeSpan.FromSeconds(10));
            Assert.NotNull(pdu);
            if (pdu!.Opcode == 0x25)
            {
                data.Write(pdu.Data);
                if ((pdu.Bhs[1] & 0x01) != 0)
                {
                    Assert.Equal(0, pdu.Bhs[3]);
                    break;
                }

                continue;
            }

            Assert.Equal(0x21, pdu.Opcode);
            Assert.Equal(0, pdu.Bhs[3]);
            break;
        }

        byte[] response = data.ToArray();
        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(response) + 4;
        var groups = new List<(ushort, byte)>();
        for (int at = 4; at + 8 <= Math.Min(length, response.Length);)
        {
            byte state = (byte)(response[at] & 0x0F);
            ushort group = BinaryPrimitives.ReadUInt16BigEndian(response.AsSpan(at + 2));
            int ports = response[at + 7];
            groups.Add((group, state));
            at += 8 + 4 * ports;
        }

        groups.Sort();
        return groups;
    }
}
