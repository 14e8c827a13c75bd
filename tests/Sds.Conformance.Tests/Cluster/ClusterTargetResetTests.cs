using System.Buffers.Binary;

namespace Sds.Conformance.Tests.Cluster;

/// <summary>
/// A TARGET COLD RESET through one gateway ends the target's sessions on every gateway (RFC 7143 §11.5.1: "all
/// connections of all sessions" of the target are terminated; with two gateways the target spans both), while a
/// TARGET WARM RESET leaves them up (it only raises the unit attention, SAM-5 §6.3.2). Method: deploy/local, one raw
/// iSCSI session per gateway, the reset sent on gateway A's. Without the shared cold reset, B's session stays open
/// and the test fails. Bounded: every wait has a limit, and the cluster is stopped in every case.
/// </summary>
public sealed class ClusterTargetResetTests
{
    private const byte TargetWarmReset = 6;
    private const byte TargetColdReset = 7;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    [ToolFact("iscsi-inq")]
    public async Task AColdResetOnOneGatewayEndsTheTargetsSessionsOnTheOther()
    {
        await using LocalCluster cluster = await LocalCluster.StartAsync();

        // Warm reset: B's session stays (it gets the unit attention instead).
        using (RawInitiator warmA = await RawInitiator.LoginAsync(cluster.Port(0), initiatorName: "iqn.2026-11.io.sds:reset-a"))
        using (RawInitiator warmB = await RawInitiator.LoginAsync(cluster.Port(1), initiatorName: "iqn.2026-11.io.sds:reset-b"))
        {
            Assert.Equal(0, await ResetAsync(warmA, TargetWarmReset));
            Assert.True(await warmB.PingAsync(), "gateway B's session answers after a warm reset on A");
        }

        using RawInitiator viaA = await RawInitiator.LoginAsync(cluster.Port(0), initiatorName: "iqn.2026-11.io.sds:reset-a");
        using RawInitiator viaB = await RawInitiator.LoginAsync(cluster.Port(1), initiatorName: "iqn.2026-11.io.sds:reset-b");
        Assert.True(await viaB.PingAsync(), "gateway B's session is up before the reset");
        Assert.Equal(0, await ResetAsync(viaA, TargetColdReset));
        Assert.True(await viaA.IsClosedAsync(Limit), "the resetting gateway ends its own session (RFC 7143 §11.5.1)");
        Assert.True(await viaB.IsClosedAsync(Limit), "gateway B ends its session of the target too");
    }

    // RFC 7143 §11.5: Task Management Function Request, immediate, for LUN 0; returns the response code (-1: none).
    private static async Task<int> ResetAsync(RawInitiator initiator, byte function)
    {
        byte[] bhs = new byte[48];
        bhs[0] = 0x40 | 0x02;
        bhs[1] = (byte)(0x80 | function);
        uint itt = initiator.NextTag();
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), itt);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(20), 0xFFFF_FFFF);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(24), initiator.CmdSN);
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(28), initiator.ExpStatSN);
        await initiator.SendAsync(bhs);
        for (DateTime until = DateTime.UtcNow + Limit; DateTime.UtcNow < until;)
        {
            RawInitiator.Pdu? pdu = await initiator.ReceiveAsync(Limit);
            if (pdu is null) return -1;
            if (pdu.Opcode == 0x22 && pdu.Field(16) == itt) return pdu.Bhs[2];
        }

        return -1;
    }
}
