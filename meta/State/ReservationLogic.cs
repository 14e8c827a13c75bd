using Grpc.Core;
using Sds.Proto.V1;

namespace Sds.Meta.State;

/// <summary>
/// PERSISTENT RESERVE OUT (SPC-4 r37 §5.9, §6.16) executed as one meta command, so every gateway sees one
/// order of registrations and reservations. SCSI outcomes (conflict, invalid release) are values in the
/// response, not gRPC errors. REGISTER AND MOVE is answered INVALID FIELD (not supported yet, TODO(#5)).
/// </summary>
internal static class ReservationLogic
{
    /// <summary>Applies one PR OUT command to the volume's reservation state.</summary>
    public static CommandOutcome Apply(MetaStateMachine state, UpdateReservationRequest request)
    {
        if (state.FindVolume(request.VolumeId) is not { } volume)
        {
            return CommandOutcome.Fail(StatusCode.NotFound, $"volume '{request.VolumeId}' does not exist");
        }

        if (request.Nexus is null || request.Nexus.InitiatorPort.Length == 0 || request.Nexus.TargetPort.Length == 0)
        {
            return CommandOutcome.Fail(StatusCode.InvalidArgument, "the I_T nexus (initiator and target port names) is required");
        }

        ReservationState current = state.FindReservation(volume.Id)?.Clone() ?? new ReservationState { VolumeId = volume.Id };
        var response = new UpdateReservationResponse { Result = ReservationResult.Ok };
        bool changed = Execute(current, request, response);
        response.State = current.Clone();
        if (response.Result == ReservationResult.Ok)
        {
            state.PutReservation(current, changed);
        }

        return new CommandOutcome(StatusCode.OK, string.Empty, volume.Id, response);
    }

    private static bool Execute(ReservationState state, UpdateReservationRequest request, UpdateReservationResponse response)
    {
        Registration? own = state.Registrations.FirstOrDefault(r => SameNexus(r.Nexus, request.Nexus));
        switch (request.Action)
        {
            case ReservationAction.Register:
            case ReservationAction.RegisterAndIgnoreExistingKey:
                return Register(state, request, own, response);
            case ReservationAction.Reserve:
                if (own is null || own.ReservationKey != request.ReservationKey) return Conflict(response);
                if (state.Type == ReservationType.None)
                {
                    state.Type = request.Type;
                    state.Holder = IsAllRegistrants(request.Type) ? null : request.Nexus.Clone();
                    return true;
                }

                return IsHolder(state, own) && state.Type == request.Type ? false : Conflict(response);
            case ReservationAction.Release:
                if (own is null || own.ReservationKey != request.ReservationKey) return Conflict(response);
                if (state.Type == ReservationType.None || !IsHolder(state, own)) return false;
                if (state.Type != request.Type)
                {
                    response.Result = ReservationResult.InvalidRelease;
                    return false;
                }

                state.Type = ReservationType.None;
                state.Holder = null;
                return true;
            case ReservationAction.Clear:
                if (own is null || own.ReservationKey != request.ReservationKey) return Conflict(response);
                foreach (Registration registration in state.Registrations)
                {
                    if (!SameNexus(registration.Nexus, request.Nexus)) response.Preempted.Add(registration.Nexus.Clone());
                }

                state.Registrations.Clear();
                state.Type = ReservationType.None;
                state.Holder = null;
                state.PrGeneration++;
                return true;
            case ReservationAction.Preempt:
            case ReservationAction.PreemptAndAbort:
                return Preempt(state, request, own, response);
            default:
                response.Result = ReservationResult.InvalidField;
                return false;
        }
    }

    private static bool Register(ReservationState state, UpdateReservationRequest request, Registration? own, UpdateReservationResponse response)
    {
        bool ignoreKey = request.Action == ReservationAction.RegisterAndIgnoreExistingKey;
        if (own is null)
        {
            if (!ignoreKey && request.ReservationKey != 0) return Conflict(response);
            if (request.ServiceActionReservationKey == 0) return false;
            if (state.Registrations.Count >= MetaLimits.RegistrationsMax)
            {
                response.Result = ReservationResult.InvalidField;
                return false;
            }

            state.Registrations.Add(new Registration { Nexus = request.Nexus.Clone(), ReservationKey = request.ServiceActionReservationKey });
        }
        else
        {
            if (!ignoreKey && own.ReservationKey != request.ReservationKey) return Conflict(response);
            if (request.ServiceActionReservationKey == 0)
            {
                bool wasHolder = IsHolder(state, own);
                state.Registrations.Remove(own);
                // SPC-4 §5.9.11: unregistering the holder releases the reservation; an all-registrants
                // reservation ends with its last registrant.
                if (wasHolder && (!IsAllRegistrants(state.Type) || state.Registrations.Count == 0))
                {
                    state.Type = ReservationType.None;
                    state.Holder = null;
                }
            }
            else
            {
                own.ReservationKey = request.ServiceActionReservationKey;
            }
        }

        state.Aptpl = request.Aptpl;
        state.PrGeneration++;
        return true;
    }

    private static bool Preempt(ReservationState state, UpdateReservationRequest request, Registration? own, UpdateReservationResponse response)
    {
        if (own is null || own.ReservationKey != request.ReservationKey) return Conflict(response);
        ulong victimKey = request.ServiceActionReservationKey;
        bool allRegistrants = IsAllRegistrants(state.Type);
        if (victimKey == 0 && !allRegistrants)
        {
            response.Result = ReservationResult.InvalidField;
            return false;
        }

        ulong holderKey = state.Holder is null ? 0 : state.Registrations.FirstOrDefault(r => SameNexus(r.Nexus, state.Holder))?.ReservationKey ?? 0;
        List<Registration> victims = state.Registrations.Where(r => (victimKey == 0 ? !SameNexus(r.Nexus, request.Nexus) : r.ReservationKey == victimKey)).ToList();
        if (victims.Count == 0 && victimKey != 0) return Conflict(response);
        foreach (Registration victim in victims)
        {
            if (SameNexus(victim.Nexus, request.Nexus)) continue;
            state.Registrations.Remove(victim);
            response.Preempted.Add(victim.Nexus.Clone());
        }

        if (state.Type != ReservationType.None && (allRegistrants || holderKey == victimKey))
        {
            state.Type = request.Type;
            state.Holder = IsAllRegistrants(request.Type) ? null : request.Nexus.Clone();
        }

        state.PrGeneration++;
        return true;
    }

    private static bool Conflict(UpdateReservationResponse response)
    {
        response.Result = ReservationResult.Conflict;
        return false;
    }

    private static bool IsHolder(ReservationState state, Registration registration) =>
        IsAllRegistrants(state.Type) ? state.Type != ReservationType.None : state.Holder is not null && SameNexus(state.Holder, registration.Nexus);

    private static bool IsAllRegistrants(ReservationType type) =>
        type is ReservationType.WriteExclusiveAllRegistrants or ReservationType.ExclusiveAccessAllRegistrants;

    private static bool SameNexus(ItNexus a, ItNexus b) =>
        string.Equals(a.InitiatorPort, b.InitiatorPort, StringComparison.OrdinalIgnoreCase) && string.Equals(a.TargetPort, b.TargetPort, StringComparison.OrdinalIgnoreCase);
}
