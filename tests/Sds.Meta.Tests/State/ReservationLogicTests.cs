using Sds.Meta.State;
using Sds.Proto.V1;

namespace Sds.Meta.Tests.State;

/// <summary>
/// PR OUT as a meta command runs the shared rules (reservations/ReservationBook) and records what every gateway
/// needs: the new state, a change count, the unit-attention notices of that change, and the SCSI result kept with
/// the request id so a retry answers the same. Method: commands applied to a real MetaStateMachine.
/// </summary>
public sealed class ReservationLogicTests
{
    private static readonly ItNexus A = new() { InitiatorPort = "iqn.a,i,0x000000000001", TargetPort = "iqn.t,t,0x0001", RelativeTargetPortId = 1 };
    private static readonly ItNexus B = new() { InitiatorPort = "iqn.b,i,0x000000000002", TargetPort = "iqn.t,t,0x0002", RelativeTargetPortId = 2 };
    private static readonly ItNexus C = new() { InitiatorPort = "iqn.c,i,0x000000000003", TargetPort = "iqn.t,t,0x0002", RelativeTargetPortId = 2 };
    private readonly MetaStateMachine state = new();
    private readonly string volumeId;

    public ReservationLogicTests()
    {
        Assert.True(state.Apply(MetaStateMachineTests.CreateVolume("db1", 1 << 30), out _).IsOk);
        volumeId = state.FindVolume("db1")!.Id;
    }

    [Fact]
    public void PreemptRecordsNoticesChangeCountAndReservationVersion()
    {
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Register, A, 0, 0xA));
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Register, B, 0, 0xB));
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Register, C, 0, 0xC));
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Reserve, A, 0xA, type: ReservationType.WriteExclusiveRegistrantsOnly));
        ulong reservedAt = state.Version;
        Assert.Equal(reservedAt, state.ReservationVersion);

        // B preempts the holder with another type: A's registration goes (REGISTRATIONS PREEMPTED) and C, still
        // registered, loses the old reservation (RESERVATIONS RELEASED), SPC-4 r37 §5.9.11.2.2.
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Preempt, B, 0xB, 0xA, ReservationType.ExclusiveAccess));
        ReservationState after = state.FindReservation(volumeId)!;
        Assert.Equal(5ul, after.ChangeCount);
        Assert.Equal(4u, after.PrGeneration);
        Assert.Equal(ReservationType.ExclusiveAccess, after.Type);
        Assert.Equal(B.InitiatorPort, after.Holder.InitiatorPort);
        Assert.Equal([A.InitiatorPort], after.RegistrationsPreempted.Select(n => n.InitiatorPort));
        Assert.Equal([C.InitiatorPort], after.ReservationsReleased.Select(n => n.InitiatorPort));
        Assert.Empty(after.ReservationsPreempted);
        Assert.Equal(reservedAt + 1, state.ReservationVersion);

        // CLEAR: every other registrant gets RESERVATIONS PREEMPTED; the previous change's notices are gone.
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Clear, B, 0xB));
        after = state.FindReservation(volumeId)!;
        Assert.Equal([C.InitiatorPort], after.ReservationsPreempted.Select(n => n.InitiatorPort));
        Assert.Empty(after.RegistrationsPreempted);
        Assert.Empty(after.ReservationsReleased);
        Assert.Empty(after.Registrations);
    }

    [Fact]
    public void RefusedOrNoOpCommandsChangeNothing()
    {
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Register, A, 0, 0xA));
        ulong version = state.Version;
        ReservationState before = state.FindReservation(volumeId)!.Clone();
        Assert.Equal(ReservationResult.Conflict, Run(ReservationAction.Register, B, 0x1234, 0xB)); // unregistered with a key
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Release, A, 0xA, type: ReservationType.WriteExclusive)); // nothing held
        Assert.Equal(ReservationResult.InvalidField, Run(ReservationAction.Reserve, A, 0xA, type: (ReservationType)2)); // TYPE 2 is obsolete
        Assert.Equal(version, state.Version);
        Assert.Equal(before, state.FindReservation(volumeId));
    }

    [Fact]
    public void Spc2ReservationIsPartOfTheReplicatedState()
    {
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Spc2Reserve, A, 0));
        Assert.Equal(A.InitiatorPort, state.FindReservation(volumeId)!.Spc2Holder.InitiatorPort);
        Assert.Equal(ReservationResult.Conflict, Run(ReservationAction.Spc2Reserve, B, 0));
        // A persistent reservation cannot be taken while an SPC-2 one exists (the rules are the gateway's).
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Register, B, 0, 0xB));
        Assert.Equal(ReservationResult.Conflict, Run(ReservationAction.Reserve, B, 0xB, type: ReservationType.WriteExclusive));
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Spc2Release, B, 0)); // not the holder: no effect
        Assert.NotNull(state.FindReservation(volumeId)!.Spc2Holder);
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Spc2Reset, null, 0));
        Assert.Null(state.FindReservation(volumeId)!.Spc2Holder);
    }

    [Fact]
    public void ResetsAreCountedWithTheirOriginAndKindAndSurviveLaterCommands()
    {
        // SAM-5 §6.3.3: every reset is a change (even with no SPC-2 reservation to drop), so every gateway's copy sees
        // the count grow and raises the condition for its nexuses; origin and kind say who already did and which one.
        ulong version = state.Version;
        Assert.Equal(ReservationResult.Ok, Reset("gateway-a-copy", ResetKind.Unspecified));
        ReservationState after = state.FindReservation(volumeId)!;
        Assert.Equal((1ul, "gateway-a-copy", ResetKind.LogicalUnit), (after.ResetCount, after.ResetOrigin, after.ResetKind));
        Assert.Equal(1ul, after.ChangeCount);
        Assert.Equal(version + 1, state.Version);
        Assert.Equal(state.Version, state.ReservationVersion);

        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Spc2Reserve, A, 0));
        Assert.Equal(ReservationResult.Ok, Reset("gateway-b-copy", ResetKind.Target));
        after = state.FindReservation(volumeId)!;
        Assert.Null(after.Spc2Holder);
        Assert.Equal((2ul, "gateway-b-copy", ResetKind.Target), (after.ResetCount, after.ResetOrigin, after.ResetKind));

        // A PR command afterwards keeps the count (a gateway must not see it go back and raise it again).
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Register, B, 0, 0xB));
        after = state.FindReservation(volumeId)!;
        Assert.Equal((2ul, "gateway-b-copy", ResetKind.Target), (after.ResetCount, after.ResetOrigin, after.ResetKind));
        Assert.Equal(4ul, after.ChangeCount);
    }

    [Fact]
    public void RetriedRequestIdReturnsTheFirstResult()
    {
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Register, A, 0, 0xA));
        var conflicting = new MetaCommand
        {
            RequestId = "retry-1",
            UpdateReservation = new UpdateReservationRequest { VolumeId = volumeId, Action = ReservationAction.Register, Nexus = B, ReservationKey = 0x99, ServiceActionReservationKey = 0xB },
        };
        Assert.Equal(ReservationResult.Conflict, state.Apply(conflicting, out _).Reservation!.Result);
        CommandOutcome retried = state.Apply(conflicting, out ClusterMapDelta? change);
        Assert.Null(change);
        Assert.Null(retried.Reservation); // the answer itself is not kept…
        Assert.Equal(ReservationResult.Conflict, ReservationLogic.ResultOfRetry(retried)); // …but its result is
    }

    [Fact]
    public void MediumStateIsOneRecordForEveryNexusAndSurvivesPrCommands()
    {
        // SBC-3 r36 §5.14: any nexus's prevention blocks an eject (and, like a locked tray, a load) for every nexus;
        // each change counts in change_count, so every gateway's copy picks it up; a refusal changes nothing.
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.MediumPrevent, A, 0));
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.MediumPrevent, A, 0)); // twice: still one entry
        ReservationState after = state.FindReservation(volumeId)!;
        Assert.Equal([A.InitiatorPort], after.MediumPreventedBy.Select(n => n.InitiatorPort));
        ulong version = state.Version;
        Assert.Equal(ReservationResult.MediumRemovalPrevented, Run(ReservationAction.MediumEject, B, 0));
        Assert.Equal(ReservationResult.MediumRemovalPrevented, Run(ReservationAction.MediumLoad, B, 0));
        Assert.Equal(version, state.Version);
        Assert.False(state.FindReservation(volumeId)!.MediumEjected);

        // ALLOW from another nexus ends nothing; from A it ends A's prevention. A PR command keeps the medium state.
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.MediumAllow, B, 0));
        Assert.Single(state.FindReservation(volumeId)!.MediumPreventedBy);
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.MediumAllow, A, 0));
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.MediumEject, B, 0));
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Register, C, 0, 0xC));
        after = state.FindReservation(volumeId)!;
        Assert.True(after.MediumEjected);
        Assert.Empty(after.MediumPreventedBy);
        ulong count = after.ChangeCount;
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.MediumLoad, A, 0));
        Assert.False(state.FindReservation(volumeId)!.MediumEjected);
        Assert.Equal(count + 1, state.FindReservation(volumeId)!.ChangeCount);

        // A logical unit reset ends every prevention (the medium stays where it is).
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.MediumPrevent, A, 0));
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.MediumPrevent, C, 0));
        Assert.Equal(2, state.FindReservation(volumeId)!.MediumPreventedBy.Count);
        Assert.Equal(ReservationResult.Ok, Reset("gateway-a-copy", ResetKind.LogicalUnit));
        Assert.Empty(state.FindReservation(volumeId)!.MediumPreventedBy);
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.MediumEject, B, 0));
        Assert.True(state.FindReservation(volumeId)!.MediumEjected);
    }

    private ReservationResult Reset(string origin, ResetKind kind) =>
        state.Apply(new MetaCommand
        {
            UpdateReservation = new UpdateReservationRequest { VolumeId = volumeId, Action = ReservationAction.Spc2Reset, ResetOrigin = origin, ResetKind = kind },
        }, out _).Reservation!.Result;

    private ReservationResult Run(ReservationAction action, ItNexus? nexus, ulong key, ulong serviceKey = 0, ReservationType type = ReservationType.None) =>
        state.Apply(new MetaCommand
        {
            UpdateReservation = new UpdateReservationRequest { VolumeId = volumeId, Action = action, Nexus = nexus, ReservationKey = key, ServiceActionReservationKey = serviceKey, Type = type },
        }, out _).Reservation!.Result;
}
