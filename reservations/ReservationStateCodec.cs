using System.Globalization;
using Wire = Sds.Proto.V1;

namespace Sds.Reservations;

/// <summary>
/// <see cref="ReservationBook"/> ↔ the replicated <see cref="Wire.ReservationState"/> (DESIGN.md §4
/// Reservations). An I_T nexus travels as <see cref="Wire.ItNexus"/>: the initiator port name
/// "iqn,i,0x" + 12 hex digits of ISID (RFC 7143 §13.9) and the relative target port identifier;
/// those two identify a registrant (SPC-4 r37 §5.9.6). The target port name is informational.
/// </summary>
internal static class ReservationStateCodec
{
    private const string IsidSeparator = ",i,0x";

    /// <summary>The book held by <paramref name="state"/> (an empty book for null).</summary>
    public static ReservationBook ToBook(Wire.ReservationState? state)
    {
        if (state is null) return new ReservationBook();
        var registrations = new Registration[state.Registrations.Count];
        for (int i = 0; i < registrations.Length; i++)
            registrations[i] = new Registration(ToRegistrant(state.Registrations[i].Nexus), state.Registrations[i].ReservationKey);
        var snapshot = new PersistentReservationSnapshot(
            state.PrGeneration, registrations, (ReservationType)(byte)state.Type,
            state.Holder is null ? null : ToRegistrant(state.Holder), state.Aptpl);
        return new ReservationBook(snapshot, state.Spc2Holder is null ? null : ToRegistrant(state.Spc2Holder));
    }

    /// <summary>
    /// Writes <paramref name="book"/> into <paramref name="state"/> (registrations, holder, type, generation,
    /// APTPL, SPC-2 holder); leaves the volume id, the change count and the notices alone.
    /// </summary>
    public static void WriteTo(ReservationBook book, Wire.ReservationState state)
    {
        state.PrGeneration = book.Generation;
        state.Registrations.Clear();
        foreach (Registration registration in book.Registrations)
            state.Registrations.Add(new Wire.Registration { Nexus = ToNexus(registration.Registrant), ReservationKey = registration.Key });
        state.Type = (Wire.ReservationType)(int)book.Type;
        state.Holder = book.Holder is { } holder ? ToNexus(holder) : null;
        state.Aptpl = book.Aptpl;
        state.Spc2Holder = book.Spc2Holder is { } spc2 ? ToNexus(spc2) : null;
    }

    /// <summary>The proto form of <paramref name="registrant"/>.</summary>
    public static Wire.ItNexus ToNexus(in RegistrantId registrant) => new()
    {
        InitiatorPort = registrant.InitiatorPortName,
        RelativeTargetPortId = registrant.RelativeTargetPortId,
    };

    /// <summary>The registrant named by <paramref name="nexus"/>; an initiator port without ",i,0x" has ISID 0.</summary>
    public static RegistrantId ToRegistrant(Wire.ItNexus nexus)
    {
        string port = nexus.InitiatorPort;
        int separator = port.LastIndexOf(IsidSeparator, StringComparison.OrdinalIgnoreCase);
        ushort relative = (ushort)Math.Min(nexus.RelativeTargetPortId, ushort.MaxValue);
        if (separator > 0 && ulong.TryParse(port.AsSpan(separator + IsidSeparator.Length), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong isid))
            return new RegistrantId(port[..separator], isid, relative);
        return new RegistrantId(port, 0, relative);
    }

    /// <summary>Whether <paramref name="nexus"/> names a usable registrant (an initiator port is required).</summary>
    public static bool IsValid(Wire.ItNexus? nexus) => nexus is not null && nexus.InitiatorPort.Length > 0;
}
