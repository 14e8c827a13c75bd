using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Sds.Gateway.Scsi.Reservations;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// PERSISTENT RESERVE IN, SPC-4 r37 §6.14: READ KEYS, READ RESERVATION, REPORT CAPABILITIES and
/// READ FULL STATUS, from one consistent read of the reservation state.
/// </summary>
internal static class PersistentReserveIn
{
    /// <summary>Service action in CDB byte 1 (bits 4:0).</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        int action = cdb[1] & 0x1F;
        int allocationLength = BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
        if (action > 0x03) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1, 4));
        PersistentReservationSnapshot state = unit.Reservations.Snapshot();
        uint generation = state.Generation;
        ReservationType type = state.Type;
        IReadOnlyList<Registration> registrations = state.Registrations;
        int capacity = 8 + registrations.Count * 300 + 64;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(capacity);
        try
        {
            Span<byte> response = buffer.AsSpan(0, capacity);
            response.Clear();
            int length = action switch
            {
                0x00 => ReadKeys(generation, registrations, response),
                0x01 => ReadReservation(generation, type, state.Holder, registrations, response),
                0x02 => ReportCapabilities(unit, response),
                _ => ReadFullStatus(state, response),
            };
            return CommandResult.DataIn(task, response[..length], allocationLength);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int ReadKeys(uint generation, IReadOnlyList<Registration> registrations, Span<byte> response)
    {
        BinaryPrimitives.WriteUInt32BigEndian(response, generation);
        int at = 8;
        foreach (Registration registration in registrations)
        {
            BinaryPrimitives.WriteUInt64BigEndian(response[at..], registration.Key);
            at += 8;
        }
        BinaryPrimitives.WriteUInt32BigEndian(response[4..], (uint)(at - 8));
        return at;
    }

    private static int ReadReservation(uint generation, ReservationType type, RegistrantId? holder, IReadOnlyList<Registration> registrations, Span<byte> response)
    {
        BinaryPrimitives.WriteUInt32BigEndian(response, generation);
        if (type == ReservationType.None) return 8;
        BinaryPrimitives.WriteUInt32BigEndian(response[4..], 16);
        // SPC-4 r37 §6.14.3: for all-registrants types the RESERVATION KEY is zero.
        ulong key = 0;
        if (holder is { } h)
            foreach (Registration registration in registrations)
                if (registration.Registrant == h) key = registration.Key;
        BinaryPrimitives.WriteUInt64BigEndian(response[8..], key);
        response[21] = (byte)type; // SCOPE 0h (LU_SCOPE) | TYPE
        return 24;
    }

    private static int ReportCapabilities(LogicalUnit unit, Span<byte> response)
    {
        BinaryPrimitives.WriteUInt16BigEndian(response, 8);
        // CRH: RESERVE/RELEASE(6/10) obey the SPC-4 §5.9.3 exceptions; PTPL_C: APTPL supported.
        response[2] = 0x10 | 0x01;
        // TMV: the type mask is valid; ALLOW COMMANDS 000b; PTPL_A: APTPL currently active.
        response[3] = (byte)(0x80 | (unit.Reservations.Aptpl ? 0x01 : 0x00));
        // Type mask: WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX / EX_AC_AR.
        response[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;
        response[5] = 0x01;
        return 8;
    }

    private static int ReadFullStatus(PersistentReservationSnapshot state, Span<byte> response)
    {
        BinaryPrimitives.WriteUInt32BigEndian(response, state.Generation);
        int at = 8;
        foreach (Registration registration in state.Registrations)
        {
            Span<byte> descriptor = response[at..];
            BinaryPrimitives.WriteUInt64BigEndian(descriptor, registration.Key);
            bool isHolder = state.IsHolder(registration.Registrant);
            descriptor[12] = isHolder ? (byte)0x01 : (byte)0x00; // R_HOLDER (ALL_TG_PT = 0)
            descriptor[13] = isHolder ? (byte)state.Type : (byte)0;
            BinaryPrimitives.WriteUInt16BigEndian(descriptor[18..], registration.Registrant.RelativeTargetPortId);
            int transportIdBytes = WriteTransportId(registration.Registrant, descriptor[24..]);
            BinaryPrimitives.WriteUInt32BigEndian(descriptor[20..], (uint)transportIdBytes);
            at += 24 + transportIdBytes;
        }
        BinaryPrimitives.WriteUInt32BigEndian(response[4..], (uint)(at - 8));
        return at;
    }

    /// <summary>
    /// iSCSI TransportID, FORMAT CODE 01b (SPC-4 r37 §7.6.4.6): the initiator port name
    /// "name,i,0x" + ISID, null terminated, padded to a multiple of 4.
    /// </summary>
    public static int WriteTransportId(in RegistrantId registrant, Span<byte> destination)
    {
        string name = registrant.InitiatorPortName;
        int nameBytes = Encoding.UTF8.GetByteCount(name);
        int padded = (nameBytes + 1 + 3) & ~3;
        destination[..(4 + padded)].Clear();
        destination[0] = 0x40 | 0x05;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)padded);
        Encoding.UTF8.GetBytes(name, destination[4..]);
        return 4 + padded;
    }
}
