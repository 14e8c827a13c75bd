namespace Sds.Reservations;

/// <summary>
/// Persistent reservation state of one logical unit as a value: what a gateway APTPL store
/// persists (APTPL) and what a Raft meta service will replicate (DESIGN.md §4 Reservations).
/// </summary>
/// <param name="Generation">PRGENERATION (SPC-4 r37 §6.15.2), bumped by every PR OUT that changes registrations.</param>
/// <param name="Registrations">All registrations, in registration order.</param>
/// <param name="Type">Reservation type, or None.</param>
/// <param name="Holder">The holder for non-all-registrants types; ignored for all-registrants types.</param>
/// <param name="Aptpl">Activate Persist Through Power Loss, as last set by REGISTER.</param>
internal sealed record PersistentReservationSnapshot(
    uint Generation,
    IReadOnlyList<Registration> Registrations,
    ReservationType Type,
    RegistrantId? Holder,
    bool Aptpl)
{
    /// <summary>Whether <paramref name="registrant"/> holds the reservation (every registrant for all-registrants types).</summary>
    public bool IsHolder(in RegistrantId registrant) =>
        Type is ReservationType.WriteExclusiveAllRegistrants or ReservationType.ExclusiveAccessAllRegistrants
            || (Type != ReservationType.None && Holder is { } holder && holder == registrant);

    /// <summary>The state of a logical unit nobody has registered with.</summary>
    public static PersistentReservationSnapshot Empty { get; } = new(0, [], ReservationType.None, null, false);
}
