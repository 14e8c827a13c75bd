using System.Buffers.Binary;
using System.Diagnostics;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Sense;
using Sds.Meta.Client;
using Xunit.Abstractions;
using Wire = Sds.Proto.V1;

namespace Sds.Gateway.Tests.Scsi.Reservations;

/// <summary>
/// DESIGN.md §6 with real parts: persistent reservations of one volume shared by two gateways through a
/// three-member meta group (real <c>sds meta</c> processes on 127.0.0.1). Each gateway is the production
/// reservation stack (MetaPersistentReservations fed by a ClusterMapMirror, a heartbeat loop renewing its
/// GatewayLease) under a real SCSI dispatcher, driven with real CDBs and PR OUT parameter lists. Proves:
/// conflicts seen on the other gateway as soon as a PR OUT completes, unit attentions raised on the gateway that
/// holds the preempted nexus, APTPL state surviving a restart of every meta member, a PR OUT completing across a
/// SIGKILL of the meta leader, and a gateway cut from meta refusing reserved I/O once its lease has ended.
/// </summary>
public sealed class ReservationsClusterTests : IDisposable
{
    private static readonly TimeSpan TestBudget = TimeSpan.FromMinutes(3);
    private readonly ITestOutputHelper output;
    private readonly MetaProcessCluster meta = new();
    private readonly CancellationTokenSource budget = new(TestBudget);
    private readonly List<ClusterGateway> gateways = new();

    public ReservationsClusterTests(ITestOutputHelper output) => this.output = output;

    [Fact]
    public async Task ConflictOnOtherGatewayAndPreemptRaisesUnitAttentionWhereTheNexusLives()
    {
        (MetaClient client, ClusterGateway a, ClusterGateway b, ITNexus hostA, ITNexus hostB) = await StartTwoGatewaysAsync();
        using (client)
        {

            var clock = Stopwatch.StartNew();
            ScsiAssert.Good(await ProutAsync(a, hostA, 0x00, 0, 0xA));
            output.WriteLine($"REGISTER through gateway A: {clock.ElapsedMilliseconds} ms");
            ScsiAssert.Good(await ProutAsync(b, hostB, 0x00, 0, 0xB));
            clock.Restart();
            ScsiAssert.Good(await ProutAsync(a, hostA, 0x01, 0xA, 0, type: 3)); // RESERVE, Exclusive Access
            output.WriteLine($"RESERVE through gateway A: {clock.ElapsedMilliseconds} ms");

            // The RESERVE completed only once B held it: B's own copy says conflict at once, no waiting.
            Assert.Equal(ScsiStatus.ReservationConflict, (await WriteAsync(b, hostB)).Status);
            Assert.Equal(ScsiStatus.ReservationConflict, (await ReadAsync(b, hostB)).Status);
            ScsiAssert.Good(await WriteAsync(a, hostA));

            // PREEMPT from B (SPC-4 r37 §5.9.11.2.2): B takes the reservation, A's registration goes, and A's nexus
            // (on gateway A) gets REGISTRATIONS PREEMPTED; B's nexus gets nothing.
            ScsiAssert.Good(await ProutAsync(b, hostB, 0x04, 0xB, 0xA, type: 3));
            ScsiAssert.Check(await RunAsync(a, hostA, TestUnitReady), SenseKey.UnitAttention, 0x2A, 0x05);
            ScsiAssert.Good(await RunAsync(b, hostB, TestUnitReady));
            Assert.Equal(ScsiStatus.ReservationConflict, (await WriteAsync(a, hostA)).Status);
            ScsiAssert.Good(await WriteAsync(b, hostB));

            // Both gateways report the same keys and generation (READ KEYS): 3 = two REGISTERs and a PREEMPT.
            foreach ((ClusterGateway gateway, ITNexus nexus) in new[] { (a, hostA), (b, hostB) })
            {
                byte[] keys = DataIn(await RunAsync(gateway, nexus, [0x5E, 0x00, 0, 0, 0, 0, 0, 0x01, 0x00, 0]));
                Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(keys));
                Assert.Equal(8u, BinaryPrimitives.ReadUInt32BigEndian(keys.AsSpan(4)));
                Assert.Equal(0xBul, BinaryPrimitives.ReadUInt64BigEndian(keys.AsSpan(8)));
            }

            // CLEAR from B: A is no longer registered, so nothing for it; RELEASE-style notices reach registrants only.
            ScsiAssert.Good(await ProutAsync(b, hostB, 0x03, 0xB, 0));
            ScsiAssert.Good(await WriteAsync(a, hostA));
        }
    }

    [Fact]
    public async Task Spc2ReserveIsSharedAndReleasedOnNexusLoss()
    {
        (MetaClient client, ClusterGateway a, ClusterGateway b, ITNexus hostA, ITNexus hostB) = await StartTwoGatewaysAsync();
        using (client)
        {

            ScsiAssert.Good(await RunAsync(a, hostA, Reserve6));
            Assert.Equal(ScsiStatus.ReservationConflict, (await RunAsync(b, hostB, Reserve6)).Status);
            Assert.Equal(ScsiStatus.ReservationConflict, (await ReadAsync(b, hostB)).Status);
            ScsiAssert.Good(await RunAsync(b, hostB, Release6)); // not the holder: no effect, GOOD (SPC-2 §7.21)
            Assert.Equal(ScsiStatus.ReservationConflict, (await ReadAsync(b, hostB)).Status);

            // I_T nexus loss on A releases A's SPC-2 reservation in meta, and the loss completes only when it is
            // released everywhere (the logout response and the next login wait for it): B's RESERVE right after
            // is GOOD at the first try (libiscsi Reserve6.Logout, where the RESERVE follows the logout at once).
            await a.Target.NexusLostAsync(hostA);
            ScsiAssert.Good(await RunAsync(b, hostB, Reserve6));
            // A's initiator logs in again: its new nexus takes POWER ON, RESET, then conflicts with B's reservation.
            ITNexus hostA2 = a.Nexus("iqn.2026-11.io.sds:host-a", 0x23d000000001);
            ScsiAssert.Check(await WriteAsync(a, hostA2), SenseKey.UnitAttention, 0x29, 0x00);
            Assert.Equal(ScsiStatus.ReservationConflict, (await WriteAsync(a, hostA2)).Status);
        }
    }

    /// <summary>
    /// SBC-3 r36 §5.14: the prevention of medium removal is a condition of the logical unit, kept in meta, and it ends
    /// for a nexus on its loss and for all on a logical unit reset — whichever gateway the nexus or the reset is on.
    /// </summary>
    [Fact]
    public async Task MediumPreventionIsSharedAndEndsOnNexusLossAndLogicalUnitReset()
    {
        (MetaClient client, ClusterGateway a, ClusterGateway b, ITNexus hostA, ITNexus hostB) = await StartTwoGatewaysAsync();
        using (client)
        {
            ScsiAssert.Good(await RunAsync(a, hostA, PreventRemoval));
            ScsiAssert.Check(await RunAsync(b, hostB, Eject), SenseKey.IllegalRequest, 0x53, 0x02);

            // A's nexus is lost: the loss completes only when its prevention is gone in meta, so B's eject right after
            // is GOOD, and A's READ at once finds the medium gone (the eject completed only once A held it).
            await a.Target.NexusLostAsync(hostA);
            ScsiAssert.Good(await RunAsync(b, hostB, Eject));
            ITNexus hostA2 = a.Nexus("iqn.2026-11.io.sds:host-a", 0x23d000000001);
            ScsiAssert.Check(await RunAsync(a, hostA2, TestUnitReady), SenseKey.UnitAttention, 0x29, 0x00);
            ScsiAssert.Check(await RunAsync(a, hostA2, TestUnitReady), SenseKey.NotReady, 0x3A, 0x00);
            ScsiAssert.Check(await ReadAsync(a, hostA2), SenseKey.NotReady, 0x3A, 0x00);
            Assert.False(a.Unit.Medium.Present);

            // Both nexuses prevent; a LOGICAL UNIT RESET through A ends both preventions, and B can load again.
            ScsiAssert.Good(await RunAsync(a, hostA2, PreventRemoval));
            ScsiAssert.Good(await RunAsync(b, hostB, PreventRemoval));
            ScsiAssert.Check(await RunAsync(b, hostB, Load), SenseKey.IllegalRequest, 0x53, 0x02);
            Assert.Equal(TaskManagementResponse.FunctionComplete,
                await a.Target.ExecuteTaskManagementAsync(TaskManagementFunction.LogicalUnitReset, hostA2, LunAddress.ToWire(0)));
            ScsiAssert.Check(await RunAsync(b, hostB, TestUnitReady), SenseKey.UnitAttention, 0x29, 0x03);
            ScsiAssert.Good(await RunAsync(b, hostB, Load));
            ScsiAssert.Check(await RunAsync(a, hostA2, TestUnitReady), SenseKey.UnitAttention, 0x29, 0x03);
            ScsiAssert.Good(await ReadAsync(a, hostA2));
        }
    }

    [Fact]
    public async Task LogicalUnitResetRaisesItsUnitAttentionOnEveryGatewayExactlyOnce()
    {
        (MetaClient client, ClusterGateway a, ClusterGateway b, ITNexus hostA, ITNexus hostB) = await StartTwoGatewaysAsync();
        using (client)
        {
            ITNexus hostB2 = await ReadyNexusAsync(b, "iqn.2026-11.io.sds:host-b2", 0x23d000000012);
            ScsiAssert.Good(await RunAsync(a, hostA, Reserve6));

            // SAM-5 §6.3.3: LOGICAL UNIT RESET on gateway A. When the function completes, every nexus on both gateways
            // holds BUS DEVICE RESET FUNCTION OCCURRED (libiscsi MultipathIO.Reset reads it on the other path at once),
            // and the SPC-2 reservation is gone everywhere (SPC-2 §5.5.1).
            var clock = Stopwatch.StartNew();
            Assert.Equal(TaskManagementResponse.FunctionComplete,
                await a.Target.ExecuteTaskManagementAsync(TaskManagementFunction.LogicalUnitReset, hostA, LunAddress.ToWire(0)));
            output.WriteLine($"LOGICAL UNIT RESET through gateway A: {clock.ElapsedMilliseconds} ms");
            ScsiAssert.Check(await RunAsync(b, hostB, TestUnitReady), SenseKey.UnitAttention, 0x29, 0x03);
            ScsiAssert.Check(await RunAsync(a, hostA, TestUnitReady), SenseKey.UnitAttention, 0x29, 0x03);
            ScsiAssert.Check(await RunAsync(b, hostB2, TestUnitReady), SenseKey.UnitAttention, 0x29, 0x03);
            ScsiAssert.Good(await RunAsync(b, hostB, Reserve6));

            // Exactly once: later map versions (a REGISTER, then B's RELEASE) bring no second condition to anyone,
            // and gateway A, which asked for the reset, does not raise it again when it observes its own count.
            ScsiAssert.Good(await ProutAsync(b, hostB, 0x00, 0, 0xB));
            ScsiAssert.Good(await RunAsync(b, hostB, Release6));
            foreach ((ClusterGateway gateway, ITNexus nexus) in new[] { (a, hostA), (b, hostB), (b, hostB2) })
                ScsiAssert.Good(await RunAsync(gateway, nexus, TestUnitReady));

            // TARGET WARM RESET on gateway B: POWER ON, RESET (29h/00h) on A's nexus too, once.
            Assert.Equal(TaskManagementResponse.FunctionComplete,
                await b.Target.ExecuteTaskManagementAsync(TaskManagementFunction.TargetWarmReset, hostB, LunAddress.ToWire(0)));
            ScsiAssert.Check(await RunAsync(a, hostA, TestUnitReady), SenseKey.UnitAttention, 0x29, 0x00);
            ScsiAssert.Check(await RunAsync(b, hostB, TestUnitReady), SenseKey.UnitAttention, 0x29, 0x00);
            ScsiAssert.Good(await ProutAsync(a, hostA, 0x00, 0, 0xA));
            foreach ((ClusterGateway gateway, ITNexus nexus) in new[] { (a, hostA), (b, hostB) })
                ScsiAssert.Good(await RunAsync(gateway, nexus, TestUnitReady));
        }
    }

    [Fact]
    public async Task AptplStateSurvivesRestartOfEveryMetaMember()
    {
        (MetaClient client, string volumeId) = await StartClusterAsync();
        using (client)
        {
            ClusterGateway a = await StartGatewayAsync(volumeId, 1);
            ITNexus hostA = await ReadyNexusAsync(a, "iqn.2026-11.io.sds:host-a", 0x23d000000001);
            ScsiAssert.Good(await ProutAsync(a, hostA, 0x00, 0, 0xA, aptpl: true));
            ScsiAssert.Good(await ProutAsync(a, hostA, 0x01, 0xA, 0, type: 1)); // Write Exclusive
            await a.CutFromMetaAsync();

            // Every member is killed (SIGKILL) and restarted from its data directory.
            for (int id = 1; id <= 3; id++) meta.Kill(id);
            meta.StartAll();

            // A gateway that starts now (fresh mirror) gets the state from meta alone.
            ClusterGateway c = await StartGatewayAsync(volumeId, 3);
            ITNexus hostC = await ReadyNexusAsync(c, "iqn.2026-11.io.sds:host-c", 0x23d000000003);
            byte[] capabilities = DataIn(await RunAsync(c, hostC, [0x5E, 0x02, 0, 0, 0, 0, 0, 0x00, 0x08, 0]));
            Assert.Equal(0x01, capabilities[3] & 0x01); // PTPL_A: APTPL is active (SPC-4 r37 §6.14.4)
            byte[] reservation = DataIn(await RunAsync(c, hostC, [0x5E, 0x01, 0, 0, 0, 0, 0, 0x00, 0x20, 0]));
            Assert.Equal(16u, BinaryPrimitives.ReadUInt32BigEndian(reservation.AsSpan(4)));
            Assert.Equal(0xAul, BinaryPrimitives.ReadUInt64BigEndian(reservation.AsSpan(8)));
            Assert.Equal(0x01, reservation[21] & 0x0F); // TYPE Write Exclusive
            Assert.Equal(ScsiStatus.ReservationConflict, (await WriteAsync(c, hostC)).Status);
            ScsiAssert.Good(await ReadAsync(c, hostC));
        }
    }

    [Fact]
    public async Task PrOutCompletesAcrossKillOfTheMetaLeader()
    {
        (MetaClient client, ClusterGateway a, ClusterGateway b, ITNexus hostA, ITNexus hostB) = await StartTwoGatewaysAsync();
        using (client)
        {
            ScsiAssert.Good(await ProutAsync(a, hostA, 0x00, 0, 0xA));
            ScsiAssert.Good(await ProutAsync(b, hostB, 0x00, 0, 0xB));

            int leader = await MetaProcessCluster.LeaderAsync(client, budget.Token);
            var clock = Stopwatch.StartNew();
            Task<ScsiTask> reserve = ProutAsync(a, hostA, 0x01, 0xA, 0, type: 1); // RESERVE, in flight while the leader dies
            meta.Kill(leader);
            ScsiTask reserved = await reserve;
            output.WriteLine($"RESERVE across SIGKILL of meta-{leader}: {reserved.Status} after {clock.ElapsedMilliseconds} ms");
            ScsiAssert.Good(reserved);

            // Exactly one outcome everywhere: A holds Write Exclusive, B conflicts on writes and may read.
            Assert.Equal(ScsiStatus.ReservationConflict, (await WriteAsync(b, hostB)).Status);
            ScsiAssert.Good(await ReadAsync(b, hostB));
            ScsiAssert.Good(await WriteAsync(a, hostA));
            // A retried RESERVE of the same type by the holder is GOOD; from B it conflicts (no made-up success).
            Assert.Equal(ScsiStatus.ReservationConflict, (await ProutAsync(b, hostB, 0x01, 0xB, 0, type: 1)).Status);
        }
    }

    [Fact]
    public async Task GatewayCutFromMetaRefusesReservedIoOnceItsLeaseEnds()
    {
        (MetaClient client, ClusterGateway a, ClusterGateway b, ITNexus hostA, ITNexus hostB) = await StartTwoGatewaysAsync();
        using (client)
        {
            ScsiAssert.Good(await ProutAsync(a, hostA, 0x00, 0, 0xA));
            ScsiAssert.Good(await ProutAsync(b, hostB, 0x00, 0, 0xB));
            ScsiAssert.Good(await ProutAsync(a, hostA, 0x01, 0xA, 0, type: 1)); // Write Exclusive held through A
            Assert.Equal(ScsiStatus.ReservationConflict, (await WriteAsync(b, hostB)).Status);

            // B loses meta. A then PREEMPTs B's registration: meta must not answer before B's lease has ended,
            // because B's copy will never learn of it. When A's PR OUT completes, B refuses reserved I/O with
            // NOT READY, LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE instead of using that copy.
            await b.CutFromMetaAsync();
            // The premise: A is leased. On a machine loaded enough to stall meta's heartbeat answers for a lease
            // (CI under load 20–40 did), A rightly refuses reserved commands with 04h/0Ch until it renews.
            await WaitUntilAsync(() => a.Lease.IsHeld, "gateway A holds its lease");
            var clock = Stopwatch.StartNew();
            ScsiAssert.Good(await ProutAsync(a, hostA, 0x04, 0xA, 0xB, type: 1));
            output.WriteLine($"PREEMPT with gateway B cut from meta completed after {clock.ElapsedMilliseconds} ms (B's lease had to end)");
            Assert.False(b.Lease.IsHeld);
            ScsiAssert.Check(await WriteAsync(b, hostB), SenseKey.NotReady, 0x04, 0x0C);
            ScsiAssert.Check(await ReadAsync(b, hostB), SenseKey.NotReady, 0x04, 0x0C);
            ScsiAssert.Good(await RunAsync(b, hostB, [0x12, 0, 0, 0, 96, 0])); // INQUIRY still answers, for multipath
            // Gateway A, still leased, keeps serving its holder.
            await WaitUntilAsync(() => a.Lease.IsHeld, "gateway A holds its lease");
            ScsiAssert.Good(await WriteAsync(a, hostA));
        }
    }

    public void Dispose()
    {
        foreach (ClusterGateway gateway in gateways) gateway.DisposeAsync().AsTask().GetAwaiter().GetResult();
        meta.Dispose();
        budget.Dispose();
    }

    private static readonly byte[] TestUnitReady = [0x00, 0, 0, 0, 0, 0];
    private static readonly byte[] Reserve6 = [0x16, 0, 0, 0, 0, 0];
    private static readonly byte[] Release6 = [0x17, 0, 0, 0, 0, 0];
    private static readonly byte[] PreventRemoval = [0x1E, 0, 0, 0, 0x01, 0];
    private static readonly byte[] Eject = [0x1B, 0, 0, 0, 0x02, 0];
    private static readonly byte[] Load = [0x1B, 0, 0, 0, 0x03, 0];

    private async Task<(MetaClient Client, string VolumeId)> StartClusterAsync()
    {
        meta.StartAll();
        var client = new MetaClient(meta.Addresses) { Timeout = TimeSpan.FromSeconds(60) };
        Wire.Volume volume = await client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new Wire.CreateVolumeRequest { Name = "pr-volume", SizeBytes = 8 << 20 }, h, d, t), budget.Token);
        return (client, volume.Id);
    }

    // Meta, one volume, gateways A (relative port 1) and B (port 2), and one ready nexus on each.
    private async Task<(MetaClient Client, ClusterGateway A, ClusterGateway B, ITNexus HostA, ITNexus HostB)> StartTwoGatewaysAsync()
    {
        (MetaClient client, string volumeId) = await StartClusterAsync();
        ClusterGateway a = await StartGatewayAsync(volumeId, 1);
        ClusterGateway b = await StartGatewayAsync(volumeId, 2);
        ITNexus hostA = await ReadyNexusAsync(a, "iqn.2026-11.io.sds:host-a", 0x23d000000001);
        ITNexus hostB = await ReadyNexusAsync(b, "iqn.2026-11.io.sds:host-b", 0x23d000000002);
        return (client, a, b, hostA, hostB);
    }

    private async Task<ClusterGateway> StartGatewayAsync(string volumeId, ushort relativePort)
    {
        ClusterGateway gateway = await ClusterGateway.StartAsync(meta.Addresses, volumeId, relativePort, budget.Token);
        gateways.Add(gateway);
        // The first heartbeat grants the lease; reserved LUs are refused until then.
        await WaitUntilAsync(() => gateway.Lease.IsHeld, "the gateway holds a lease");
        return gateway;
    }

    // A new nexus starts with POWER ON, RESET; the first TEST UNIT READY takes it (SAM-5 §6.3.1).
    private static async Task<ITNexus> ReadyNexusAsync(ClusterGateway gateway, string initiator, ulong isid)
    {
        ITNexus nexus = gateway.Nexus(initiator, isid);
        ScsiAssert.Check(await gateway.RunAsync(nexus, TestUnitReady), SenseKey.UnitAttention, 0x29, 0x00);
        ScsiAssert.Good(await gateway.RunAsync(nexus, TestUnitReady));
        return nexus;
    }

    private async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (int attempt = 0; attempt < 600 && !condition(); attempt++) await Task.Delay(50, budget.Token);
        Assert.True(condition(), $"timed out waiting until {what}");
    }

    private static Task<ScsiTask> RunAsync(ClusterGateway gateway, ITNexus nexus, byte[] cdb) => gateway.RunAsync(nexus, cdb);

    private static Task<ScsiTask> ProutAsync(ClusterGateway gateway, ITNexus nexus, int action, ulong key, ulong actionKey, int type = 0, bool aptpl = false)
    {
        byte[] list = new byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(list, key);
        BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(8), actionKey);
        if (aptpl) list[20] = 0x01;
        return gateway.RunAsync(nexus, [0x5F, (byte)action, (byte)type, 0, 0, 0, 0, 0, 24, 0], list);
    }

    private static Task<ScsiTask> WriteAsync(ClusterGateway gateway, ITNexus nexus) =>
        gateway.RunAsync(nexus, [0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0], new byte[512]);

    private static Task<ScsiTask> ReadAsync(ClusterGateway gateway, ITNexus nexus) =>
        gateway.RunAsync(nexus, [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], expectedLength: 512);

    private static byte[] DataIn(ScsiTask task)
    {
        ScsiAssert.Good(task);
        return task.DataIn.Span[..task.DataInLength].ToArray();
    }
}
