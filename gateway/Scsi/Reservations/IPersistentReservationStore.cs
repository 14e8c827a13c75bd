namespace Sds.Gateway.Scsi.Reservations;

/// <summary>
/// Durable home of a logical unit's persistent reservation state. Today a small file beside the
/// LUN (<see cref="FilePersistentReservationStore"/>) or memory; later the Raft meta service, which
/// is why it takes and returns whole snapshots.
/// </summary>
internal interface IPersistentReservationStore
{
    /// <summary>The state persisted with APTPL, or <see cref="PersistentReservationSnapshot.Empty"/>.</summary>
    PersistentReservationSnapshot Load();

    /// <summary>
    /// Persists <paramref name="snapshot"/> (called after every change; a store persists only when
    /// <see cref="PersistentReservationSnapshot.Aptpl"/> is set and clears what it holds otherwise).
    /// Returns false when the state could not be made durable.
    /// </summary>
    bool Save(PersistentReservationSnapshot snapshot);
}
