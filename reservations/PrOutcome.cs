namespace Sds.Reservations;

/// <summary>Result of a PERSISTENT RESERVE OUT service action, mapped to status/sense by the handler.</summary>
internal enum PrOutcome : byte
{
    /// <summary>GOOD.</summary>
    Good = 0,
    /// <summary>RESERVATION CONFLICT status.</summary>
    ReservationConflict,
    /// <summary>ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST.</summary>
    InvalidFieldInParameterList,
    /// <summary>ILLEGAL REQUEST, INVALID FIELD IN CDB.</summary>
    InvalidFieldInCdb,
    /// <summary>ILLEGAL REQUEST, INVALID RELEASE OF PERSISTENT RESERVATION.</summary>
    InvalidRelease,
    /// <summary>ILLEGAL REQUEST, INSUFFICIENT REGISTRATION RESOURCES.</summary>
    InsufficientResources,
    /// <summary>The APTPL state could not be made durable: HARDWARE ERROR.</summary>
    PersistFailed,
    /// <summary>
    /// The shared reservation state could not be reached or confirmed (meta unreachable, or this gateway's copy
    /// did not catch up): NOT READY, LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE, so the
    /// initiator retries, possibly on another gateway's path.
    /// </summary>
    Unavailable,
}
