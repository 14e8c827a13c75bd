using System.Buffers.Binary;
using System.Diagnostics;
using Xunit.Abstractions;

namespace Sds.Conformance.Tests.Cluster;

/// <summary>
/// Unit attentions and SPC-2 reservations shared by the two gateways of deploy/local (DESIGN.md §6, issue #7), through
/// real processes and real initiators. Proves: (1) libiscsi's MultipathIO.Reset (LOGICAL UNIT RESET on one gateway, the
/// reset's unit attention on the other gateway's path at once), Reserve6.Logout and Reserve6.ITNexusLoss (the SPC-2
/// release implied by a logout / a dropped connection is in meta before the other initiator's RESERVE(6), made through
/// the other gateway) pass, scored like the acceptance run (any "[FAILED]" line fails the test); (2) a volume resize
/// through the management API raises CAPACITY DATA HAS CHANGED (2Ah/09h, SBC-3 r36 §4.7.3.6) on a nexus of each gateway,
/// exactly once, and READ CAPACITY(16) through both gateways reports the new size. Bounded: iscsi-test-cu has a
/// 5-minute limit, every poll a deadline, and the cluster is stopped (down.sh, by PID) in every case.
/// </summary>
public sealed class ClusterUnitAttentionTests
{
    private const long GrownSizeBytes = 2L << 30; // up.sh creates the demo volume with 1 GiB

    private readonly ITestOutputHelper output;

    public ClusterUnitAttentionTests(ITestOutputHelper output) => this.output = output;

    [ToolFact("iscsi-test-cu", "iscsi-inq")]
    public async Task ResetAndNexusLossAreSharedAndAResizeReachesEveryGatewaysNexusOnce()
    {
        await using LocalCluster cluster = await LocalCluster.StartAsync();

        // (1) The three libiscsi tests that failed through two gateways before the reset count and the awaited release.
        string[] tests = ["ALL.MultipathIO.Reset", "ALL.Reserve6.Logout", "ALL.Reserve6.ITNexusLoss"];
        Tools.Result run = await Tools.RunAsync("iscsi-test-cu", ["-d", "-v", "-t", string.Join(',', tests), cluster.Urls[0], cluster.Urls[1]], TimeSpan.FromMinutes(5));
        string log = run.StandardOutput + run.StandardError;
        Assert.False(run.TimedOut, "iscsi-test-cu hung:\n" + log);
        SortedDictionary<string, CuScore.Outcome> scores = CuScore.Score(log.Split('\n'));
        output.WriteLine(CuScore.Summary(scores));
        Assert.Equal(["MultipathIO.Reset", "Reserve6.ITNexusLoss", "Reserve6.Logout"], scores.Keys);
        Assert.True(scores.Values.All(s => s == CuScore.Outcome.Passed), log);

        // (2) One nexus per gateway, unit attentions drained, then the volume grows through meta.
        using RawInitiator viaOne = await RawInitiator.LoginAsync(cluster.Port(0), initiatorName: "iqn.2026-11.io.sds:ua-one");
        using RawInitiator viaTwo = await RawInitiator.LoginAsync(cluster.Port(1), initiatorName: "iqn.2026-11.io.sds:ua-two");
        Assert.True(await viaOne.ClearUnitAttentionAsync(), "TEST UNIT READY settles on gateway 1");
        Assert.True(await viaTwo.ClearUnitAttentionAsync(), "TEST UNIT READY settles on gateway 2");
        Tools.Result resize = await cluster.AdminAsync("volume", "resize", "demo", "--size", "2GiB");
        Assert.True(resize.ExitCode == 0, resize.StandardError);

        var clock = Stopwatch.StartNew();
        foreach ((RawInitiator initiator, string gateway) in new[] { (viaOne, "gateway 1"), (viaTwo, "gateway 2") })
        {
            (byte Status, byte Key, byte Asc, byte Ascq) first = await TestUnitReadyAsync(initiator);
            while (first.Status == 0 && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(200);
                first = await TestUnitReadyAsync(initiator);
            }

            output.WriteLine($"{gateway}: CAPACITY DATA HAS CHANGED seen {clock.ElapsedMilliseconds} ms after the resize returned");
            Assert.Equal((0x02, 0x06, 0x2A, 0x09), (first.Status, first.Key, first.Asc, first.Ascq));
            Assert.Equal(GrownSizeBytes / 512, (long)await ReadCapacityBlocksAsync(initiator));
        }

        // Exactly once: after a few more map versions (a second volume created) neither nexus sees it again.
        Tools.Result create = await cluster.AdminAsync("volume", "create", "ua-other", "--size", "64MiB", "--block-size", "512");
        Assert.True(create.ExitCode == 0, create.StandardError);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(0, (await TestUnitReadyAsync(viaOne)).Status);
        Assert.Equal(0, (await TestUnitReadyAsync(viaTwo)).Status);
    }

    // TEST UNIT READY: (status, sense key, ASC, ASCQ); the sense is fixed format after the 2-byte SenseLength (RFC 7143 §11.4.7.2).
    private static async Task<(byte Status, byte Key, byte Asc, byte Ascq)> TestUnitReadyAsync(RawInitiator initiator)
    {
        uint itt = initiator.NextTag();
        await initiator.SendAsync(initiator.ScsiCommand(itt, 0x80, 0, new byte[16]));
        RawInitiator.Pdu? response = await initiator.ReceiveResponseAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(response);
        Assert.Equal(0x21, response!.Opcode);
        initiator.ExpStatSN = response.Field(24) + 1;
        byte status = response.Bhs[3];
        if (status != 0x02) return (status, 0, 0, 0);
        Assert.True(response.Data.Length >= 2 + 14, "CHECK CONDITION carries fixed-format sense");
        byte[] sense = response.Data[2..];
        return (status, (byte)(sense[2] & 0x0F), sense[12], sense[13]);
    }

    // READ CAPACITY(16) (SBC-3 r36 §5.16): RETURNED LOGICAL BLOCK ADDRESS + 1.
    private static async Task<ulong> ReadCapacityBlocksAsync(RawInitiator initiator)
    {
        byte[] cdb = new byte[16];
        cdb[0] = 0x9E;
        cdb[1] = 0x10;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), 32);
        uint itt = initiator.NextTag();
        await initiator.SendAsync(initiator.ScsiCommand(itt, 0x80 | 0x40 | 0x01, 32, cdb));
        byte[]? data = null;
        while (true)
        {
            RawInitiator.Pdu? pdu = await initiator.ReceiveResponseAsync(TimeSpan.FromSeconds(10));
            Assert.NotNull(pdu);
            if (pdu!.Opcode == 0x25)
            {
                data = pdu.Data;
                if ((pdu.Bhs[1] & 0x01) == 0) continue;
                initiator.ExpStatSN = pdu.Field(24) + 1;
                Assert.Equal(0, pdu.Bhs[3]);
                break;
            }

            Assert.Equal(0x21, pdu.Opcode);
            initiator.ExpStatSN = pdu.Field(24) + 1;
            Assert.Equal(0, pdu.Bhs[3]);
            break;
        }

        Assert.NotNull(data);
        return BinaryPrimitives.ReadUInt64BigEndian(data) + 1;
    }
}
