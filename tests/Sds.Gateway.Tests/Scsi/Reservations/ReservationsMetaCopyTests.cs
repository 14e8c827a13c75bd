using Sds.Gateway.Block;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Reservations;
using Sds.Gateway.Scsi.Sense;
using Wire = Sds.Proto.V1;

namespace Sds.Gateway.Tests.Scsi.Reservations;

/// <summary>
/// The local side of <see cref="MetaPersistentReservations"/>, fed replicated states by hand the way the mirror
/// feeds them: the conflict check is answered from the watched copy without allocating, the lease rule turns a
/// reserved unit's I/O into NOT READY 04h/0Ch, and unit attentions come from the state's notices (or, after
/// skipped versions, from the difference) for the nexuses this gateway holds. No PR OUT is sent here, so no meta
/// is involved; ReservationsClusterTests covers the whole path with real meta processes.
/// </summary>
public sealed class ReservationsMetaCopyTests
{
    private const string Volume = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    private static readonly ITNexus Holder = ScsiHarness.NexusFor("iqn.2026-11.io.sds:holder", 0x1, relativePort: 1);
    private static readonly ITNexus Other = ScsiHarness.NexusFor("iqn.2026-11.io.sds:other", 0x2, relativePort: 1);
    private static readonly ITNexus Remote = ScsiHarness.NexusFor("iqn.2026-11.io.sds:remote", 0x3, relativePort: 2);

    [Fact]
    public void ConflictCheckFromTheCopyAllocatesNothing()
    {
        var lease = new GatewayLease();
        lease.Renewed(lease.BeginHeartbeat(), 600_000);
        var reservations = new MetaPersistentReservations(Volume, new NoMeta(), lease, 7, WriteExclusiveHeldBy(Holder, changeCount: 3));
        CommandDescriptor write10 = CommandTable.DirectAccess[0x2A];
        CommandDescriptor read10 = CommandTable.DirectAccess[0x28];
        for (int i = 0; i < 100; i++) reservations.Check(Other, write10);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int conflicts = 0;
        for (int i = 0; i < 10_000; i++)
        {
            if (reservations.Check(Other, write10) == ReservationCheck.Conflict) conflicts++;
            if (reservations.Check(Other, read10) != ReservationCheck.Admit) conflicts--;
            if (reservations.Check(Holder, write10) != ReservationCheck.Admit) conflicts--;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(10_000, conflicts);
        Assert.True(allocated == 0, $"{allocated} bytes for 30,000 checks");
    }

    [Fact]
    public void WithoutALeaseAReservedUnitAnswersNotReadyAndAnUnreservedOneRuns()
    {
        var lease = new GatewayLease();
        var reservations = new MetaPersistentReservations(Volume, new NoMeta(), lease, 7, WriteExclusiveHeldBy(Holder, changeCount: 3));
        using var harness = new LeaseHarness(reservations);
        ScsiAssert.Check(harness.Run(Holder, [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]), SenseKey.NotReady, 0x04, 0x0C);
        ScsiAssert.Good(harness.Run(Holder, [0x12, 0, 0, 0, 96, 0])); // INQUIRY never depends on the copy
        lease.Renewed(lease.BeginHeartbeat(), 600_000);
        ScsiAssert.Good(harness.Run(Holder, [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]));
        Assert.Equal(ScsiStatus.ReservationConflict, harness.Run(Other, [0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0], new byte[512]).Status);

        // A lease of 0 (meta: this gateway is behind the latest reservation change) extends nothing.
        lease.Revoke();
        lease.Renewed(lease.BeginHeartbeat(), 0);
        Assert.False(lease.IsHeld);

        // Once the reservation is gone (a later version), the unit runs I/O again even without a lease.
        reservations.Observe(9, new Wire.ReservationState { VolumeId = Volume, ChangeCount = 4 });
        ScsiAssert.Good(harness.Run(Other, [0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0], new byte[512]));
    }

    [Fact]
    public void UnitAttentionsReachOnlyNexusesOnThisGateway()
    {
        var lease = new GatewayLease();
        lease.Renewed(lease.BeginHeartbeat(), 600_000);
        var reservations = new MetaPersistentReservations(Volume, new NoMeta(), lease, 7, WriteExclusiveHeldBy(Holder, changeCount: 3));
        using var harness = new LeaseHarness(reservations);

        // The next change (count 4): Holder was preempted by Remote (a nexus on another gateway's port).
        Wire.ReservationState preempted = WriteExclusiveHeldBy(Remote, changeCount: 4);
        preempted.RegistrationsPreempted.Add(Nexus(Holder));
        reservations.Observe(8, preempted);
        ScsiAssert.Check(harness.Run(Holder, [0, 0, 0, 0, 0, 0]), SenseKey.UnitAttention, 0x2A, 0x05);
        ScsiAssert.Good(harness.Run(Other, [0, 0, 0, 0, 0, 0]));

        // The same version again (a replayed event) raises nothing twice.
        reservations.Observe(8, preempted);
        ScsiAssert.Good(harness.Run(Holder, [0, 0, 0, 0, 0, 0]));

        // Skipped versions (count 4 → 6, Other registered at 5 and lost its registration at 6): the diff stands in.
        Wire.ReservationState withOther = WriteExclusiveHeldBy(Remote, changeCount: 4);
        withOther.Registrations.Add(new Wire.Registration { Nexus = Nexus(Other), ReservationKey = 0x77 });
        var reservations2 = new MetaPersistentReservations(Volume, new NoMeta(), lease, 8, withOther);
        using var harness2 = new LeaseHarness(reservations2);
        reservations2.Observe(12, new Wire.ReservationState { VolumeId = Volume, ChangeCount = 6 });
        ScsiAssert.Check(harness2.Run(Other, [0, 0, 0, 0, 0, 0]), SenseKey.UnitAttention, 0x2A, 0x05);
    }

    [Fact]
    public void AResetCountedByAnotherGatewayRaisesItsConditionOnceForEveryNexusHere()
    {
        var lease = new GatewayLease();
        lease.Renewed(lease.BeginHeartbeat(), 600_000);
        var reservations = new MetaPersistentReservations(Volume, new NoMeta(), lease, 7, new Wire.ReservationState { VolumeId = Volume, ChangeCount = 3, ResetCount = 5 });
        using var harness = new LeaseHarness(reservations);
        ScsiAssert.Good(harness.Run(Holder, [0, 0, 0, 0, 0, 0])); // resets counted before this copy existed owe nothing

        // SAM-5 §6.3.3: another gateway's LOGICAL UNIT RESET (count 5 → 6) reaches every nexus here, once.
        var reset = new Wire.ReservationState { VolumeId = Volume, ChangeCount = 4, ResetCount = 6, ResetOrigin = "another-gateway", ResetKind = Wire.ResetKind.LogicalUnit };
        reservations.Observe(8, reset);
        reservations.Observe(8, reset);
        reservations.Observe(9, reset);
        foreach (ITNexus nexus in new[] { Holder, Other })
        {
            ScsiAssert.Check(harness.Run(nexus, [0, 0, 0, 0, 0, 0]), SenseKey.UnitAttention, 0x29, 0x03);
            ScsiAssert.Good(harness.Run(nexus, [0, 0, 0, 0, 0, 0]));
        }

        // A target reset says POWER ON, RESET (29h/00h); two resets seen in one step are one condition.
        reservations.Observe(12, new Wire.ReservationState { VolumeId = Volume, ChangeCount = 6, ResetCount = 8, ResetOrigin = "another-gateway", ResetKind = Wire.ResetKind.Target });
        ScsiAssert.Check(harness.Run(Other, [0, 0, 0, 0, 0, 0]), SenseKey.UnitAttention, 0x29, 0x00);
        ScsiAssert.Good(harness.Run(Other, [0, 0, 0, 0, 0, 0]));
    }

    private static Wire.ItNexus Nexus(ITNexus nexus) => new() { InitiatorPort = nexus.InitiatorPortName, RelativeTargetPortId = nexus.RelativeTargetPortId };

    private static Wire.ReservationState WriteExclusiveHeldBy(ITNexus holder, ulong changeCount)
    {
        var state = new Wire.ReservationState { VolumeId = Volume, PrGeneration = 1, Type = Wire.ReservationType.WriteExclusive, Holder = Nexus(holder), ChangeCount = changeCount };
        state.Registrations.Add(new Wire.Registration { Nexus = Nexus(holder), ReservationKey = 0xAA });
        return state;
    }

    /// <summary>A target with one LU over the reservations under test; the nexuses have their POWER ON taken.</summary>
    private sealed class LeaseHarness : IDisposable
    {
        private readonly MemoryBlockDevice device = new(1 << 20);
        private readonly ScsiTargetDevice target = new();

        public LeaseHarness(MetaPersistentReservations reservations)
        {
            var unit = new LogicalUnit(device, new LogicalUnitIdentity(Guid.Parse(Volume)), reservations: reservations);
            reservations.Attach(unit.UnitAttentions);
            target.AddLogicalUnit(0, unit);
            foreach (ITNexus nexus in new[] { Holder, Other })
            {
                target.NexusCreated(nexus);
                ScsiAssert.Check(Run(nexus, [0, 0, 0, 0, 0, 0]), SenseKey.UnitAttention, 0x29, 0x00);
            }
        }

        public ScsiTask Run(ITNexus nexus, byte[] cdb, byte[]? dataOut = null)
        {
            var task = new ScsiTask();
            task.Reset();
            task.SetCdb(cdb);
            task.Nexus = nexus;
            task.Lun = LunAddress.ToWire(0);
            task.ExpectedDataTransferLength = (uint)(dataOut?.Length ?? 512);
            if (dataOut is not null)
            {
                task.Direction = DataDirection.Write;
                task.DataOut = dataOut;
            }
            else
            {
                task.Direction = DataDirection.Read;
                task.DataIn = new byte[512];
            }
            ValueTask pending = target.ExecuteAsync(task);
            Assert.True(pending.IsCompleted, "no meta call on these paths: the dispatcher answers synchronously");
            pending.GetAwaiter().GetResult();
            return task;
        }

        public void Dispose() => device.Dispose();
    }

    /// <summary>These tests send no PR OUT; a call reaching meta would be a bug in the test.</summary>
    private sealed class NoMeta : IReservationMeta
    {
        public Task<Wire.UpdateReservationResponse> UpdateReservationAsync(Wire.UpdateReservationRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("no meta in this test");
    }
}
