using System.Diagnostics;
using Xunit.Abstractions;

namespace Sds.Conformance.Tests.Cluster;

/// <summary>
/// The removable medium of deploy/local's demo target (created with <c>sds target create --removable</c>) is one
/// state for both gateways (SBC-3 r36 §5.14: prevention is a condition of the logical unit, set by any I_T nexus;
/// §5.20: an eject holds on every path; DESIGN.md §6). Method: one raw iSCSI session per gateway (two initiators),
/// real processes, real sockets. Proves: both paths report RMB; a PREVENT from gateway A's nexus makes an eject
/// through gateway B fail with ILLEGAL REQUEST, MEDIUM REMOVAL PREVENTED; after ALLOW the eject through B succeeds
/// and a READ through A at once ends in NOT READY, MEDIUM NOT PRESENT; a load through B makes the READ through A good
/// again; and the loss of A's nexus (its connection closed) ends A's prevention for B. Each of these fails if the
/// state stays per gateway. Bounded: every command has a 10 s answer limit, the nexus-loss poll 20 s, and the cluster
/// is stopped (down.sh, by PID) in every case.
/// </summary>
public sealed class ClusterRemovableMediumTests
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(10);

    private readonly ITestOutputHelper output;

    public ClusterRemovableMediumTests(ITestOutputHelper output) => this.output = output;

    [ToolFact("iscsi-inq")]
    public async Task PreventAndEjectThroughOneGatewayHoldForTheOther()
    {
        await using LocalCluster cluster = await LocalCluster.StartAsync();
        Tools.Result show = await cluster.AdminAsync("target", "show", "iqn.2026-11.io.sds:demo");
        Assert.True(show.ExitCode == 0, show.StandardError);
        Assert.Matches(@"(?m)^removable:\s+yes$", show.StandardOutput);

        RawInitiator viaA = await RawInitiator.LoginAsync(cluster.Port(0), initiatorName: "iqn.2026-11.io.sds:medium-a");
        try
        {
            using RawInitiator viaB = await RawInitiator.LoginAsync(cluster.Port(1), initiatorName: "iqn.2026-11.io.sds:medium-b");
            Assert.True(await viaA.ClearUnitAttentionAsync(), "TEST UNIT READY settles on gateway A");
            Assert.True(await viaB.ClearUnitAttentionAsync(), "TEST UNIT READY settles on gateway B");

            // SPC-4 r37 §6.6.2: RMB (byte 1 bit 7) is the same on every path (multipath identity).
            Assert.Equal(0x80, (await InquiryAsync(viaA))[1] & 0x80);
            Assert.Equal(0x80, (await InquiryAsync(viaB))[1] & 0x80);

            Assert.Equal(Good, await CommandAsync(viaA, PreventAllow(prevent: true)));
            Assert.Equal(MediumRemovalPrevented, await CommandAsync(viaB, StartStopUnit(load: false)));
            Assert.Equal(Good, await CommandAsync(viaA, Read10()));

            Assert.Equal(Good, await CommandAsync(viaA, PreventAllow(prevent: false)));
            var clock = Stopwatch.StartNew();
            Assert.Equal(Good, await CommandAsync(viaB, StartStopUnit(load: false)));
            output.WriteLine($"eject through B answered in {clock.ElapsedMilliseconds} ms");
            // No waiting: the eject completes only once every live gateway holds the new state.
            Assert.Equal(MediumNotPresent, await CommandAsync(viaA, Read10()));
            Assert.Equal(MediumNotPresent, await CommandAsync(viaB, Read10()));

            Assert.Equal(Good, await CommandAsync(viaB, StartStopUnit(load: true)));
            Assert.Equal(Good, await CommandAsync(viaA, Read10()));

            // SBC-3 r36 §5.14: I_T nexus loss ends that nexus's prevention, on every gateway.
            Assert.Equal(Good, await CommandAsync(viaA, PreventAllow(prevent: true)));
            Assert.Equal(MediumRemovalPrevented, await CommandAsync(viaB, StartStopUnit(load: false)));
            viaA.Dispose();
            clock.Restart();
            (byte, byte, byte, byte) eject = await CommandAsync(viaB, StartStopUnit(load: false));
            while (eject == MediumRemovalPrevented && clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                // Gateway A learns of the loss when it reads the closed connection; nothing orders that before B's command.
                await Task.Delay(100);
                eject = await CommandAsync(viaB, StartStopUnit(load: false));
            }

            output.WriteLine($"eject through B after A's connection closed: GOOD after {clock.ElapsedMilliseconds} ms");
            Assert.Equal(Good, eject);
            Assert.Equal(Good, await CommandAsync(viaB, StartStopUnit(load: true)));
        }
        finally
        {
            viaA.Dispose();
        }
    }

    private static readonly (byte, byte, byte, byte) Good = (0, 0, 0, 0);

    // SBC-3 r36 §5.14: ILLEGAL REQUEST, MEDIUM REMOVAL PREVENTED (53h/02h).
    private static readonly (byte, byte, byte, byte) MediumRemovalPrevented = (0x02, 0x05, 0x53, 0x02);

    // SBC-3 r36 §5.20: NOT READY, MEDIUM NOT PRESENT (3Ah/00h).
    private static readonly (byte, byte, byte, byte) MediumNotPresent = (0x02, 0x02, 0x3A, 0x00);

    private static byte[] PreventAllow(bool prevent)
    {
        byte[] cdb = new byte[16];
        cdb[0] = 0x1E;
        cdb[4] = (byte)(prevent ? 0x01 : 0x00);
        return cdb;
    }

    private static byte[] StartStopUnit(bool load)
    {
        byte[] cdb = new byte[16];
        cdb[0] = 0x1B;
        cdb[4] = (byte)(load ? 0x03 : 0x02); // LOEJ, START
        return cdb;
    }

    private static byte[] Read10()
    {
        byte[] cdb = new byte[16];
        cdb[0] = 0x28;
        cdb[8] = 1; // one block at LBA 0
        return cdb;
    }

    private static async Task<byte[]> InquiryAsync(RawInitiator initiator)
    {
        byte[] cdb = new byte[16];
        cdb[0] = 0x12;
        cdb[4] = 96;
        (byte[] data, (byte Status, byte, byte, byte) result) = await ExchangeAsync(initiator, cdb, 96);
        Assert.Equal(0, result.Status);
        Assert.True(data.Length >= 8, "standard INQUIRY data");
        return data;
    }

    // Status, sense key, ASC, ASCQ of one command (READ(10) reads one 512-byte block; the others move no data).
    private static async Task<(byte Status, byte Key, byte Asc, byte Ascq)> CommandAsync(RawInitiator initiator, byte[] cdb)
    {
        uint length = cdb[0] == 0x28 ? 512u : 0u;
        return (await ExchangeAsync(initiator, cdb, length)).Result;
    }

    private static async Task<(byte[] Data, (byte Status, byte Key, byte Asc, byte Ascq) Result)> ExchangeAsync(RawInitiator initiator, byte[] cdb, uint expectedLength)
    {
        uint itt = initiator.NextTag();
        byte flags = (byte)(0x80 | 0x01 | (expectedLength > 0 ? 0x40 : 0)); // Final, SIMPLE, Read when data comes back
        await initiator.SendAsync(initiator.ScsiCommand(itt, flags, expectedLength, cdb));
        var data = new byte[expectedLength];
        while (true)
        {
            RawInitiator.Pdu? pdu = await initiator.ReceiveResponseAsync(AnswerTimeout);
            Assert.NotNull(pdu);
            Assert.Equal(itt, pdu!.Field(16));
            if (pdu.Opcode == 0x25)
            {
                pdu.Data.CopyTo(data, (int)pdu.Field(40));
                if ((pdu.Bhs[1] & 0x01) == 0) continue; // RFC 7143 §11.7.1: S = 0, a SCSI Response follows
                initiator.ExpStatSN = pdu.Field(24) + 1;
                return (data, (pdu.Bhs[3], 0, 0, 0));
            }

            Assert.Equal(0x21, pdu.Opcode);
            initiator.ExpStatSN = pdu.Field(24) + 1;
            byte status = pdu.Bhs[3];
            if (status != 0x02) return (data, (status, 0, 0, 0));
            // RFC 7143 §11.4.7.2: SenseLength (2 bytes), then fixed-format sense data.
            Assert.True(pdu.Data.Length >= 2 + 14, "CHECK CONDITION carries fixed-format sense");
            byte[] sense = pdu.Data[2..];
            return (data, (status, (byte)(sense[2] & 0x0F), sense[12], sense[13]));
        }
    }
}
