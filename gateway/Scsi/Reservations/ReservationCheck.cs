namespace Sds.Gateway.Scsi.Reservations;

/// <summary>What the reservation state says about one command, asked by the dispatcher before it runs.</summary>
internal enum ReservationCheck : byte
{
    /// <summary>No conflict: run the command.</summary>
    Admit = 0,
    /// <summary>RESERVATION CONFLICT status (SPC-4 r37 §5.9.1, SPC-2 §5.5.1).</summary>
    Conflict,
    /// <summary>
    /// The logical unit is reserved and this gateway's copy of the reservation state may be stale (its
    /// meta lease lapsed, DESIGN.md §6): CHECK CONDITION, NOT READY, LOGICAL UNIT NOT ACCESSIBLE, TARGET
    /// PORT IN UNAVAILABLE STATE (04h/0Ch, SPC-4 r37 §5.15.2.4.5), so multipath moves to another gateway.
    /// </summary>
    Unavailable,
}
