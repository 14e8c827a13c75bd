namespace Sds.Gateway.Scsi.Sbc;

/// <summary>Outcome of a change to a removable medium (<see cref="IRemovableMedium"/>), mapped to status by the handler.</summary>
internal enum MediumChange : byte
{
    /// <summary>Done: GOOD.</summary>
    Done = 0,

    /// <summary>A nexus prevents medium removal (SBC-3 r36 §5.14): ILLEGAL REQUEST, MEDIUM REMOVAL PREVENTED.</summary>
    RemovalPrevented,

    /// <summary>
    /// The shared state could not be reached or confirmed (meta unreachable, or this gateway's copy did not catch
    /// up): NOT READY, LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE, as for reservations, so the
    /// initiator retries, possibly on another path.
    /// </summary>
    Unavailable,
}
