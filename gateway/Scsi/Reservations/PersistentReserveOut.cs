using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Sds.Gateway.Scsi.Reservations;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// PERSISTENT RESERVE OUT, SPC-4 r37 §6.15: decodes the CDB and parameter list, runs the service
/// action on the logical unit's <see cref="IPersistentReservations"/>, and raises the unit
/// attentions the standard asks for on the other registrants' I_T nexuses (the cluster
/// implementation leaves the lists empty and raises them on every gateway from the replicated state).
/// </summary>
internal static class PersistentReserveOut
{
    private const int BasicParameterBytes = 24;

    /// <summary>Service action in CDB byte 1 (bits 4:0); SCOPE/TYPE in byte 2; list length in bytes 5–8.</summary>
    public static async ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        (ScsiStatus Status, bool Done) early = Validate(task, out int action, out ReservationType type, out uint parameterLength);
        if (early.Done) return early.Status;
        ReadOnlyMemory<byte> list = task.DataOut[..(int)parameterLength];
        ulong key = BinaryPrimitives.ReadUInt64BigEndian(list.Span);
        ulong actionKey = BinaryPrimitives.ReadUInt64BigEndian(list.Span[8..]);

        var preempted = new List<RegistrantId>();
        var released = new List<RegistrantId>();
        PrOutcome outcome;
        if (action == 0x07)
        {
            outcome = await RegisterAndMove(unit, task, list, key, actionKey).ConfigureAwait(false);
        }
        else
        {
            byte flags = list.Span[20];
            bool aptpl = (flags & 0x01) != 0;
            // SPEC_I_PT (bit 3) and ALL_TG_PT (bit 2) are not supported (REPORT CAPABILITIES says so).
            if ((flags & 0x0C) != 0)
            {
                task.CheckCondition(Sense.InvalidFieldInParameterListAt(20, (flags & 0x08) != 0 ? 3 : 2));
                return ScsiStatus.CheckCondition;
            }
            if (aptpl && action is not (0x00 or 0x06)) aptpl = false;
            IPersistentReservations state = unit.Reservations;
            outcome = await (action switch
            {
                0x00 => state.RegisterAsync(task.Nexus, key, actionKey, ignoreExisting: false, aptpl, released),
                0x06 => state.RegisterAsync(task.Nexus, key, actionKey, ignoreExisting: true, aptpl, released),
                0x01 => state.ReserveAsync(task.Nexus, key, type),
                0x02 => state.ReleaseAsync(task.Nexus, key, type, released),
                0x03 => state.ClearAsync(task.Nexus, key, preempted),
                _ => state.PreemptAsync(task.Nexus, key, actionKey, type, preempted, released),
            }).ConfigureAwait(false);
        }

        if (outcome == PrOutcome.Good)
        {
            // SPC-4 r37 §5.9.10 (CLEAR): RESERVATIONS PREEMPTED; §5.9.11: REGISTRATIONS PREEMPTED;
            // §5.9.9 (RELEASE) and type changes: RESERVATIONS RELEASED.
            unit.UnitAttentions.EstablishForRegistrants(preempted, action == 0x03 ? Sense.ReservationsPreempted : Sense.RegistrationsPreempted);
            unit.UnitAttentions.EstablishForRegistrants(released, Sense.ReservationsReleased);
        }
        return await (outcome switch
        {
            PrOutcome.Good => CommandResult.Good,
            PrOutcome.ReservationConflict => CommandResult.Conflict,
            PrOutcome.InvalidFieldInParameterList => CommandResult.Check(task, Sense.InvalidFieldInParameterList),
            PrOutcome.InvalidFieldInCdb => CommandResult.Check(task, Sense.InvalidFieldInCdbAt(2)),
            PrOutcome.InvalidRelease => CommandResult.Check(task, Sense.InvalidReleaseOfPersistentReservation),
            PrOutcome.InsufficientResources => CommandResult.Check(task, Sense.InsufficientRegistrationResources),
            PrOutcome.Unavailable => CommandResult.Check(task, Sense.TargetPortUnavailable),
            _ => CommandResult.Check(task, Sense.InternalTargetFailure),
        }).ConfigureAwait(false);
    }

    // CDB checks and parameter list length (§6.15.1–6.15.3), before any state is touched.
    private static (ScsiStatus Status, bool Done) Validate(ScsiTask task, out int action, out ReservationType type, out uint parameterLength)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        action = cdb[1] & 0x1F;
        int scope = cdb[2] >> 4;
        type = (ReservationType)(cdb[2] & 0x0F);
        parameterLength = BinaryPrimitives.ReadUInt32BigEndian(cdb[5..]);
        task.CdbTransferLength = parameterLength;
        if (action > 0x07) return Fail(task, Sense.InvalidFieldInCdbAt(1, 4));

        bool needsType = action is 0x01 or 0x02 or 0x04 or 0x05 or 0x07;
        if (needsType)
        {
            // SPC-4 r37 §6.15.3: only LU_SCOPE exists; TYPE must be one of table 165.
            if (scope != 0) return Fail(task, Sense.InvalidFieldInCdbAt(2, 7));
            if (type is not (ReservationType.WriteExclusive or ReservationType.ExclusiveAccess
                or ReservationType.WriteExclusiveRegistrantsOnly or ReservationType.ExclusiveAccessRegistrantsOnly
                or ReservationType.WriteExclusiveAllRegistrants or ReservationType.ExclusiveAccessAllRegistrants))
                return Fail(task, Sense.InvalidFieldInCdbAt(2, 3));
        }
        // §6.15.1: the basic parameter list is exactly 24 bytes (no SPEC_I_PT support).
        if (action != 0x07 && parameterLength != BasicParameterBytes) return Fail(task, Sense.ParameterListLengthError);
        if (action == 0x07 && parameterLength < BasicParameterBytes) return Fail(task, Sense.ParameterListLengthError);
        if (task.DataOut.Length < parameterLength) return Fail(task, Sense.ParameterListLengthError);
        return (ScsiStatus.Good, false);
    }

    private static (ScsiStatus, bool) Fail(ScsiTask task, in Sds.Gateway.Scsi.Sense.SenseData sense)
    {
        task.CheckCondition(sense);
        return (ScsiStatus.CheckCondition, true);
    }

    // SPC-4 r37 §6.15.4 REGISTER AND MOVE parameter list: keys, UNREG/APTPL in byte 17, RELATIVE
    // TARGET PORT IDENTIFIER in 18–19, TRANSPORTID PARAMETER DATA LENGTH in 20–23, TransportID at 24.
    private static ValueTask<PrOutcome> RegisterAndMove(LogicalUnit unit, ScsiTask task, ReadOnlyMemory<byte> parameters, ulong key, ulong actionKey)
    {
        ReadOnlySpan<byte> list = parameters.Span;
        bool unregister = (list[17] & 0x02) != 0;
        bool aptpl = (list[17] & 0x01) != 0;
        ushort relativePort = BinaryPrimitives.ReadUInt16BigEndian(list[18..]);
        uint transportIdBytes = BinaryPrimitives.ReadUInt32BigEndian(list[20..]);
        if (transportIdBytes < 4 || 24 + (long)transportIdBytes > list.Length) return new(PrOutcome.InvalidFieldInParameterList);
        if (!TryParseTransportId(list.Slice(24, (int)transportIdBytes), relativePort, out RegistrantId destination))
            return new(PrOutcome.InvalidFieldInParameterList);
        return unit.Reservations.RegisterAndMoveAsync(task.Nexus, key, actionKey, destination, unregister, aptpl);
    }

    /// <summary>Parses an iSCSI TransportID (format 00b: name; 01b: name,i,0x + ISID), SPC-4 r37 §7.6.4.6.</summary>
    public static bool TryParseTransportId(ReadOnlySpan<byte> transportId, ushort relativePort, out RegistrantId registrant)
    {
        registrant = default;
        if ((transportId[0] & 0x0F) != 0x05) return false;
        int format = transportId[0] >> 6;
        int length = BinaryPrimitives.ReadUInt16BigEndian(transportId[2..]);
        if (4 + length > transportId.Length) return false;
        ReadOnlySpan<byte> text = transportId.Slice(4, length);
        int end = text.IndexOf((byte)0);
        string value = Encoding.UTF8.GetString(end < 0 ? text : text[..end]);
        if (format == 0)
        {
            registrant = new RegistrantId(value, 0, relativePort);
            return value.Length > 0;
        }
        if (format != 1) return false;
        int separator = value.IndexOf(",i,0x", StringComparison.OrdinalIgnoreCase);
        if (separator <= 0) return false;
        if (!ulong.TryParse(value.AsSpan(separator + 5), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong isid)) return false;
        registrant = new RegistrantId(value[..separator], isid, relativePort);
        return true;
    }
}
