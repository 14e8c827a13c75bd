namespace Sds.Gateway.Scsi.Reservations;

/// <summary>A store that keeps the last APTPL snapshot in memory (tests, memory-backed LUs).</summary>
internal sealed class MemoryPersistentReservationStore : IPersistentReservationStore
{
    private PersistentReservationSnapshot _saved = PersistentReservationSnapshot.Empty;

    /// <inheritdoc />
    public PersistentReservationSnapshot Load() => Volatile.Read(ref _saved);

    /// <inheritdoc />
    public bool Save(PersistentReservationSnapshot snapshot)
    {
        Volatile.Write(ref _saved, snapshot.Aptpl ? snapshot : PersistentReservationSnapshot.Empty);
        return true;
    }
}
