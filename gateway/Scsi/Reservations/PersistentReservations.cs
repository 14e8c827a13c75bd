namespace Sds.Gateway.Scsi.Reservations;

/// <summary>
/// Persistent reservations (SPC-4 r37 §5.9) and SPC-2 RESERVE/RELEASE of one logical unit kept in
/// this process: a <see cref="ReservationBook"/> (the shared rules, reservations/) behind a lock,
/// with APTPL state saved through an <see cref="IPersistentReservationStore"/>. Used by a single
/// gateway (<c>sds server</c>, tests); a cluster gateway uses <see cref="MetaPersistentReservations"/>,
/// which runs the same book inside meta. The dispatcher asks <see cref="Check"/> for every command;
/// when no reservation of either kind exists that is one volatile read.
/// </summary>
internal sealed class PersistentReservations : IPersistentReservations
{
    /// <summary>Registrations kept per logical unit (bounded; INSUFFICIENT REGISTRATION RESOURCES beyond).</summary>
    public const int RegistrationsMax = ReservationBook.RegistrationsMax;

    private readonly Lock _gate = new();
    private readonly IPersistentReservationStore _store;
    private readonly ReservationBook _book;
    // Invariant: _reserved == _book.Reserved (written under _gate after every change).
    private volatile bool _reserved;

    /// <summary>Loads the persisted (APTPL) state from <paramref name="store"/>.</summary>
    public PersistentReservations(IPersistentReservationStore store)
    {
        _store = store;
        _book = new ReservationBook(store.Load());
        _reserved = _book.Reserved;
    }

    /// <summary>Whether Activate Persist Through Power Loss is set.</summary>
    public bool Aptpl
    {
        get { lock (_gate) return _book.Aptpl; }
    }

    /// <summary>The current state as a value.</summary>
    public PersistentReservationSnapshot Snapshot()
    {
        lock (_gate) return _book.ToSnapshot();
    }

    /// <summary>
    /// Whether <paramref name="command"/> from <paramref name="nexus"/> conflicts with a reservation
    /// held through another nexus (<see cref="ReservationBook.Conflicts"/>). Never unavailable: the
    /// state is this process's own.
    /// </summary>
    public ReservationCheck Check(ITNexus nexus, CommandDescriptor command)
    {
        if (!_reserved) return ReservationCheck.Admit;
        bool allowedUnderSpc2 = (command.Flags & CommandFlags.AllowedUnderSpc2Reservation) != 0;
        lock (_gate)
            return _book.Conflicts(RegistrantId.Of(nexus), command.ReservationAccess, allowedUnderSpc2) ? ReservationCheck.Conflict : ReservationCheck.Admit;
    }

    /// <summary>SPC-2 RESERVE(6/10): false (RESERVATION CONFLICT) when another nexus holds a reservation of either kind.</summary>
    public ValueTask<bool> ReserveSpc2Async(ITNexus nexus)
    {
        lock (_gate)
        {
            bool reserved = _book.ReserveSpc2(RegistrantId.Of(nexus));
            _reserved = _book.Reserved;
            return new(reserved);
        }
    }

    /// <summary>SPC-2 RELEASE(6/10): releases the reservation if <paramref name="nexus"/> holds it; otherwise no effect.</summary>
    public ValueTask ReleaseSpc2Async(ITNexus nexus)
    {
        lock (_gate)
        {
            _book.ReleaseSpc2(RegistrantId.Of(nexus));
            _reserved = _book.Reserved;
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Drops any SPC-2 reservation (logical unit or target reset, SPC-2 §5.5.1); one process, nothing to tell.</summary>
    public ValueTask ResetAsync(ResetScope scope)
    {
        lock (_gate)
        {
            _book.ReleaseSpc2();
            _reserved = _book.Reserved;
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>I_T nexus loss: releases that nexus's SPC-2 reservation. Registrations persist (SPC-4 r37 §5.9.5).</summary>
    public ValueTask NexusLostAsync(ITNexus nexus)
    {
        lock (_gate)
        {
            _book.ReleaseSpc2(RegistrantId.Of(nexus));
            _reserved = _book.Reserved;
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<PrOutcome> RegisterAsync(ITNexus nexus, ulong key, ulong newKey, bool ignoreExisting, bool aptpl, List<RegistrantId> released)
    {
        lock (_gate)
        {
            bool wasPersistent = _book.Aptpl;
            return new(Persist(_book.Register(RegistrantId.Of(nexus), key, newKey, ignoreExisting, aptpl, released), wasPersistent));
        }
    }

    /// <inheritdoc />
    public ValueTask<PrOutcome> ReserveAsync(ITNexus nexus, ulong key, ReservationType type)
    {
        lock (_gate) return new(Persist(_book.Reserve(RegistrantId.Of(nexus), key, type), _book.Aptpl));
    }

    /// <inheritdoc />
    public ValueTask<PrOutcome> ReleaseAsync(ITNexus nexus, ulong key, ReservationType type, List<RegistrantId> released)
    {
        lock (_gate) return new(Persist(_book.Release(RegistrantId.Of(nexus), key, type, released), _book.Aptpl));
    }

    /// <inheritdoc />
    public ValueTask<PrOutcome> ClearAsync(ITNexus nexus, ulong key, List<RegistrantId> preempted)
    {
        lock (_gate) return new(Persist(_book.Clear(RegistrantId.Of(nexus), key, preempted), _book.Aptpl));
    }

    /// <inheritdoc />
    public ValueTask<PrOutcome> PreemptAsync(ITNexus nexus, ulong key, ulong victimKey, ReservationType type, List<RegistrantId> preempted, List<RegistrantId> released)
    {
        lock (_gate) return new(Persist(_book.Preempt(RegistrantId.Of(nexus), key, victimKey, type, preempted, released), _book.Aptpl));
    }

    /// <inheritdoc />
    public ValueTask<PrOutcome> RegisterAndMoveAsync(ITNexus nexus, ulong key, ulong newKey, RegistrantId destination, bool unregister, bool aptpl)
    {
        lock (_gate)
        {
            bool wasPersistent = _book.Aptpl;
            return new(Persist(_book.RegisterAndMove(RegistrantId.Of(nexus), key, newKey, destination, unregister, aptpl), wasPersistent));
        }
    }

    // After a service action (under _gate): refresh the hot-path flag and, when APTPL is or was set,
    // save the state (SPC-4 r37 §5.9.4). A refused action changed nothing and saves nothing.
    private PrOutcome Persist(PrOutcome outcome, bool wasPersistent)
    {
        _reserved = _book.Reserved;
        if (outcome != PrOutcome.Good || (!_book.Aptpl && !wasPersistent)) return outcome;
        return _store.Save(_book.ToSnapshot()) ? PrOutcome.Good : PrOutcome.PersistFailed;
    }
}
