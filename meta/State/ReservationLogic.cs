using System.Globalization;
using Grpc.Core;
using Sds.Proto.V1;
using Book = Sds.Reservations.ReservationBook;
using Codec = Sds.Reservations.ReservationStateCodec;
using PrOutcome = Sds.Reservations.PrOutcome;
using RegistrantId = Sds.Reservations.RegistrantId;
using ScsiReservationType = Sds.Reservations.ReservationType;

namespace Sds.Meta.State;

/// <summary>
/// PERSISTENT RESERVE OUT (SPC-4 r37 §5.9, §6.15) and SPC-2 RESERVE/RELEASE executed as one meta command,
/// so every gateway sees one order of registrations and reservations. The rules are not here: they are
/// <see cref="Book"/> in reservations/, the same code a single gateway runs in process (docs/decisions.md
/// "One set of PR rules"). This class only decodes the request, runs the book, and records the new state
/// with the unit attentions the change owes other nexuses. SCSI outcomes (conflict, invalid release) are
/// values in the response, not gRPC errors.
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

        if (!Codec.IsValid(request.Nexus) && request.Action != ReservationAction.Spc2Reset)
        {
            return CommandOutcome.Fail(StatusCode.InvalidArgument, "the I_T nexus (initiator port name) is required");
        }

        ReservationState? stored = state.FindReservation(volume.Id);
        Book book = Codec.ToBook(stored);
        var preempted = new List<RegistrantId>();
        var released = new List<RegistrantId>();
        PrOutcome outcome = IsMediumAction(request.Action) ? PrOutcome.Good : Execute(book, request, preempted, released);
        var response = new UpdateReservationResponse { Result = ToResult(outcome) };
        if (outcome == PrOutcome.Good)
        {
            var next = new ReservationState
            {
                VolumeId = volume.Id,
                ResetCount = stored?.ResetCount ?? 0,
                ResetOrigin = stored?.ResetOrigin ?? string.Empty,
                ResetKind = stored?.ResetKind ?? ResetKind.Unspecified,
                MediumEjected = stored?.MediumEjected ?? false,
            };
            if (stored is not null) next.MediumPreventedBy.Add(stored.MediumPreventedBy);
            Codec.WriteTo(book, next);
            var before = next.Clone();
            Codec.WriteTo(Codec.ToBook(stored), before);
            if (IsMediumAction(request.Action) && !ApplyMedium(next, request))
            {
                response.Result = ReservationResult.MediumRemovalPrevented;
            }

            if (request.Action == ReservationAction.Spc2Reset)
            {
                // SAM-5 §6.3.3: a logical unit reset owes every I_T nexus a unit attention, on every gateway. The reset
                // is counted here, in the state every gateway watches, so each raises it for the nexuses it holds
                // (MetaPersistentReservations.Observe); the asking copy already raised it and skips its own origin.
                next.ResetCount++;
                next.ResetOrigin = request.ResetOrigin;
                next.ResetKind = request.ResetKind == ResetKind.Unspecified ? ResetKind.LogicalUnit : request.ResetKind;
                // SBC-3 r36 §5.14: a logical unit reset ends every nexus's prevention of medium removal.
                next.MediumPreventedBy.Clear();
            }

            if (!next.Equals(before))
            {
                // The change count and the notices travel with the state, so every gateway raises the unit
                // attentions for the nexuses it holds (DESIGN.md §6), whichever gateway ran the command.
                next.ChangeCount = (stored?.ChangeCount ?? 0) + 1;
                bool clear = request.Action == ReservationAction.Clear;
                foreach (RegistrantId registrant in preempted)
                {
                    (clear ? next.ReservationsPreempted : next.RegistrationsPreempted).Add(Codec.ToNexus(registrant));
                    response.Preempted.Add(Codec.ToNexus(registrant));
                }

                foreach (RegistrantId registrant in released)
                {
                    next.ReservationsReleased.Add(Codec.ToNexus(registrant));
                    response.Preempted.Add(Codec.ToNexus(registrant));
                }

                state.PutReservation(next, changed: true);
            }
        }

        response.State = state.FindReservation(volume.Id)?.Clone() ?? new ReservationState { VolumeId = volume.Id };
        // The SCSI result also goes in the message, which the request-id table keeps: a retry of this request
        // (the first answer was lost) must report the same result, not a made-up success (ResultOfRetry).
        return new CommandOutcome(StatusCode.OK, ResultPrefix + ((int)response.Result).ToString(CultureInfo.InvariantCulture), volume.Id, response);
    }

    /// <summary>The SCSI result of an applied PR OUT, from the outcome a retried request id returns.</summary>
    public static ReservationResult ResultOfRetry(CommandOutcome outcome) =>
        outcome.Message.StartsWith(ResultPrefix, StringComparison.Ordinal)
            && int.TryParse(outcome.Message.AsSpan(ResultPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int result)
            ? (ReservationResult)result
            : ReservationResult.Ok;

    private const string ResultPrefix = "reservation result ";

    private static bool IsMediumAction(ReservationAction action) => action is ReservationAction.MediumPrevent
        or ReservationAction.MediumAllow or ReservationAction.MediumLoad or ReservationAction.MediumEject;

    /// <summary>
    /// PREVENT ALLOW MEDIUM REMOVAL and START STOP UNIT LOEJ on the volume's shared medium state (docs/decisions.md
    /// "Removable medium shared through meta"); false when a load or eject is refused because a nexus prevents it.
    /// The medium is a condition of the logical unit, not of a gateway (SBC-3 r36 §5.14: prevention by any nexus
    /// blocks removal), so it is judged here, in one order for every gateway.
    /// </summary>
    private static bool ApplyMedium(ReservationState next, UpdateReservationRequest request)
    {
        RegistrantId self = Codec.ToRegistrant(request.Nexus);
        int index = -1;
        for (int i = 0; i < next.MediumPreventedBy.Count; i++)
        {
            if (Codec.ToRegistrant(next.MediumPreventedBy[i]) == self) index = i;
        }

        switch (request.Action)
        {
            case ReservationAction.MediumPrevent:
                if (index < 0) next.MediumPreventedBy.Add(Codec.ToNexus(self));
                return true;
            case ReservationAction.MediumAllow:
                if (index >= 0) next.MediumPreventedBy.RemoveAt(index);
                return true;
            default:
                // SBC-3 r36 §5.14: while any nexus prevents removal the medium stays where it is (an eject is refused;
                // a load too, like a locked tray, as the in-process RemovableMedium does).
                if (next.MediumPreventedBy.Count > 0) return false;
                next.MediumEjected = request.Action == ReservationAction.MediumEject;
                return true;
        }
    }

    private static PrOutcome Execute(Book book, UpdateReservationRequest request, List<RegistrantId> preempted, List<RegistrantId> released)
    {
        RegistrantId self = request.Nexus is null ? default : Codec.ToRegistrant(request.Nexus);
        ulong key = request.ReservationKey;
        ulong actionKey = request.ServiceActionReservationKey;
        var type = (ScsiReservationType)(byte)request.Type;
        switch (request.Action)
        {
            case ReservationAction.Register:
                return book.Register(self, key, actionKey, ignoreExisting: false, request.Aptpl, released);
            case ReservationAction.RegisterAndIgnoreExistingKey:
                return book.Register(self, key, actionKey, ignoreExisting: true, request.Aptpl, released);
            case ReservationAction.Reserve:
                return IsType(request.Type) ? book.Reserve(self, key, type) : PrOutcome.InvalidFieldInCdb;
            case ReservationAction.Release:
                return IsType(request.Type) ? book.Release(self, key, type, released) : PrOutcome.InvalidFieldInCdb;
            case ReservationAction.Clear:
                return book.Clear(self, key, preempted);
            case ReservationAction.Preempt:
            case ReservationAction.PreemptAndAbort:
                return IsType(request.Type) ? book.Preempt(self, key, actionKey, type, preempted, released) : PrOutcome.InvalidFieldInCdb;
            case ReservationAction.RegisterAndMove:
                if (!IsType(request.Type) || !Codec.IsValid(request.MoveTo)) return PrOutcome.InvalidFieldInParameterList;
                return book.RegisterAndMove(self, key, actionKey, Codec.ToRegistrant(request.MoveTo), request.Unregister, request.Aptpl);
            case ReservationAction.Spc2Reserve:
                return book.ReserveSpc2(self) ? PrOutcome.Good : PrOutcome.ReservationConflict;
            case ReservationAction.Spc2Release:
                book.ReleaseSpc2(self);
                return PrOutcome.Good;
            case ReservationAction.Spc2Reset:
                book.ReleaseSpc2();
                return PrOutcome.Good;
            default:
                return PrOutcome.InvalidFieldInCdb;
        }
    }

    // SPC-4 r37 §6.15.3 table 165: the six defined TYPE codes.
    private static bool IsType(ReservationType type) => type is ReservationType.WriteExclusive or ReservationType.ExclusiveAccess
        or ReservationType.WriteExclusiveRegistrantsOnly or ReservationType.ExclusiveAccessRegistrantsOnly
        or ReservationType.WriteExclusiveAllRegistrants or ReservationType.ExclusiveAccessAllRegistrants;

    private static ReservationResult ToResult(PrOutcome outcome) => outcome switch
    {
        PrOutcome.Good => ReservationResult.Ok,
        PrOutcome.ReservationConflict => ReservationResult.Conflict,
        PrOutcome.InvalidRelease => ReservationResult.InvalidRelease,
        PrOutcome.InsufficientResources => ReservationResult.InsufficientResources,
        _ => ReservationResult.InvalidField,
    };
}
