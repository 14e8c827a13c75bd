using Sds.Gateway.Block;

namespace Sds.Gateway.Scsi.Reservations;

/// <summary>
/// Persistent reservations (SPC-4 r37 §5.9) and SPC-2 RESERVE/RELEASE of one logical unit. The
/// state is a value (<see cref="PersistentReservationSnapshot"/>) kept behind an
/// <see cref="IPersistentReservationStore"/>, so it can move to the Raft meta service unchanged.
/// The dispatcher asks <see cref="Conflicts"/> for every command; when no reservation of either
/// kind exists that is one volatile read.
/// </summary>
internal sealed class PersistentReservations : IPersistentReservations
{
    /// <summary>Registrations kept per logical unit (bounded; INSUFFICIENT REGISTRATION RESOURCES beyond).</summary>
    public const int RegistrationsMax = 256;

    private readonly Lock _gate = new();
    private readonly IPersistentReservationStore _store;
    private readonly List<Registration> _registrations = new();
    private uint _generation;
    private ReservationType _type;
    private RegistrantId? _holder;
    private bool _aptpl;
    private ITNexus? _spc2Holder;
    // Invariant: _reserved == (_type != None || _spc2Holder is not null).
    private volatile bool _reserved;

    /// <summary>Loads the persisted (APTPL) state from <paramref name="store"/>.</summary>
    public PersistentReservations(IPersistentReservationStore store)
    {
        _store = store;
        PersistentReservationSnapshot saved = store.Load();
        _generation = saved.Generation;
        _registrations.AddRange(saved.Registrations);
        _type = saved.Type;
        _holder = saved.Holder;
        _aptpl = saved.Aptpl;
        _reserved = _type != ReservationType.None;
    }

    /// <summary>Whether Activate Persist Through Power Loss is set.</summary>
    public bool Aptpl
    {
        get { lock (_gate) return _aptpl; }
    }

    /// <summary>The current state as a value.</summary>
    public PersistentReservationSnapshot Snapshot()
    {
        lock (_gate) return SnapshotLocked();
    }

    /// <summary>
    /// Whether <paramref name="command"/> from <paramref name="nexus"/> conflicts with a reservation
    /// held through another nexus (SPC-4 r37 §5.9.1 table 48, SBC-3 r36 table 8; SPC-2 §5.5.1).
    /// </summary>
    public bool Conflicts(ITNexus nexus, CommandDescriptor command)
    {
        if (!_reserved) return false;
        lock (_gate)
        {
            if (_spc2Holder is not null && !_spc2Holder.Equals(nexus))
                return (command.Flags & CommandFlags.AllowedUnderSpc2Reservation) == 0;
            if (_type == ReservationType.None || command.ReservationAccess == PrAccess.Allowed) return false;
            var registrant = RegistrantId.Of(nexus);
            bool registered = IndexOf(registrant) >= 0;
            if (IsHolderLocked(registrant, registered)) return false;
            return (_type, command.ReservationAccess) switch
            {
                (ReservationType.WriteExclusive, PrAccess.Read) => false,
                (ReservationType.WriteExclusiveRegistrantsOnly or ReservationType.WriteExclusiveAllRegistrants, PrAccess.Read) => false,
                (ReservationType.WriteExclusive or ReservationType.ExclusiveAccess, _) => true,
                _ => !registered,
            };
        }
    }

    /// <summary>SPC-2 RESERVE(6/10): false (RESERVATION CONFLICT) when another nexus holds a reservation of either kind.</summary>
    public bool ReserveSpc2(ITNexus nexus)
    {
        lock (_gate)
        {
            if (_type != ReservationType.None) return false;
            if (_spc2Holder is not null && !_spc2Holder.Equals(nexus)) return false;
            _spc2Holder = nexus;
            _reserved = true;
            return true;
        }
    }

    /// <summary>SPC-2 RELEASE(6/10): releases the reservation if <paramref name="nexus"/> holds it; otherwise no effect.</summary>
    public void ReleaseSpc2(ITNexus nexus)
    {
        lock (_gate)
        {
            if (_spc2Holder is not null && _spc2Holder.Equals(nexus)) ReleaseSpc2Locked();
        }
    }

    /// <summary>Drops any SPC-2 reservation (logical unit reset, SPC-2 §5.5.1).</summary>
    public void ReleaseSpc2()
    {
        lock (_gate) ReleaseSpc2Locked();
    }

    /// <summary>I_T nexus loss: releases that nexus's SPC-2 reservation. Registrations persist (SPC-4 r37 §5.9.5).</summary>
    public void NexusLost(ITNexus nexus) => ReleaseSpc2(nexus);

    /// <summary>
    /// REGISTER (SA 00h) and REGISTER AND IGNORE EXISTING KEY (SA 06h), SPC-4 r37 §5.9.7.
    /// <paramref name="released"/> receives registrants to notify with RESERVATIONS RELEASED.
    /// </summary>
    private PrOutcome RegisterCore(ITNexus nexus, ulong key, ulong newKey, bool ignoreExisting, bool aptpl, List<RegistrantId> released)
    {
        var registrant = RegistrantId.Of(nexus);
        lock (_gate)
        {
            int index = IndexOf(registrant);
            if (index < 0)
            {
                // §5.9.7.2: an unregistered nexus must send key 0 (unless ignoring).
                if (!ignoreExisting && key != 0) return PrOutcome.ReservationConflict;
                if (newKey == 0) return Persist(aptplChange: aptpl);
                if (_registrations.Count >= RegistrationsMax) return PrOutcome.InsufficientResources;
                _registrations.Add(new Registration(registrant, newKey));
            }
            else
            {
                if (!ignoreExisting && _registrations[index].Key != key) return PrOutcome.ReservationConflict;
                if (newKey == 0) Unregister(index, released);
                else _registrations[index] = new Registration(registrant, newKey);
            }
            _generation++;
            return Persist(aptplChange: aptpl);
        }
    }

    /// <summary>RESERVE (SA 01h), SPC-4 r37 §5.9.8.</summary>
    private PrOutcome ReserveCore(ITNexus nexus, ulong key, ReservationType type)
    {
        var registrant = RegistrantId.Of(nexus);
        lock (_gate)
        {
            if (_spc2Holder is not null) return PrOutcome.ReservationConflict;
            int index = IndexOf(registrant);
            if (index < 0 || _registrations[index].Key != key) return PrOutcome.ReservationConflict;
            if (_type != ReservationType.None)
            {
                // §5.9.8.3: the holder asking again with the same type is a no-op; anything else conflicts.
                return IsHolderLocked(registrant, true) && _type == type ? PrOutcome.Good : PrOutcome.ReservationConflict;
            }
            _type = type;
            _holder = IsAllRegistrants(type) ? null : registrant;
            _reserved = true;
            return Persist(aptplChange: null);
        }
    }

    /// <summary>RELEASE (SA 02h), SPC-4 r37 §5.9.9; <paramref name="released"/> gets registrants to notify.</summary>
    private PrOutcome ReleaseCore(ITNexus nexus, ulong key, ReservationType type, List<RegistrantId> released)
    {
        var registrant = RegistrantId.Of(nexus);
        lock (_gate)
        {
            int index = IndexOf(registrant);
            if (index < 0 || _registrations[index].Key != key) return PrOutcome.ReservationConflict;
            if (_type == ReservationType.None || !IsHolderLocked(registrant, true)) return PrOutcome.Good;
            if (_type != type) return PrOutcome.InvalidRelease;
            ReleaseReservationLocked(registrant, released);
            return Persist(aptplChange: null);
        }
    }

    /// <summary>CLEAR (SA 03h), SPC-4 r37 §5.9.10; <paramref name="preempted"/> gets every other registrant.</summary>
    private PrOutcome ClearCore(ITNexus nexus, ulong key, List<RegistrantId> preempted)
    {
        var registrant = RegistrantId.Of(nexus);
        lock (_gate)
        {
            int index = IndexOf(registrant);
            if (index < 0 || _registrations[index].Key != key) return PrOutcome.ReservationConflict;
            foreach (Registration registration in _registrations)
                if (registration.Registrant != registrant) preempted.Add(registration.Registrant);
            _registrations.Clear();
            _type = ReservationType.None;
            _holder = null;
            _reserved = _spc2Holder is not null;
            _generation++;
            return Persist(aptplChange: null);
        }
    }

    /// <summary>
    /// PREEMPT (SA 04h) and PREEMPT AND ABORT (SA 05h), SPC-4 r37 §5.9.11. <paramref name="preempted"/>
    /// gets registrants whose registration was removed (REGISTRATIONS PREEMPTED); <paramref name="released"/>
    /// gets remaining registrants that lost the old reservation (RESERVATIONS RELEASED).
    /// </summary>
    private PrOutcome PreemptCore(ITNexus nexus, ulong key, ulong victimKey, ReservationType type, List<RegistrantId> preempted, List<RegistrantId> released)
    {
        var registrant = RegistrantId.Of(nexus);
        lock (_gate)
        {
            int index = IndexOf(registrant);
            if (index < 0 || _registrations[index].Key != key) return PrOutcome.ReservationConflict;
            if (_type == ReservationType.None)
            {
                // §5.9.11.2.1: no reservation, so only registrations are removed.
                if (victimKey == 0) return PrOutcome.InvalidFieldInParameterList;
                if (RemoveByKey(victimKey, registrant, preempted, keepSelf: false) == 0) return PrOutcome.ReservationConflict;
            }
            else if (IsAllRegistrants(_type))
            {
                // §5.9.11.2.3: with victim key 0 every other registration goes and the preempter holds a new reservation.
                if (victimKey == 0)
                {
                    RemoveAllBut(registrant, preempted);
                    _type = type;
                    _holder = IsAllRegistrants(type) ? null : registrant;
                }
                else if (RemoveByKey(victimKey, registrant, preempted, keepSelf: false) == 0)
                {
                    return PrOutcome.ReservationConflict;
                }
            }
            else
            {
                ulong holderKey = HolderKeyLocked();
                if (victimKey == holderKey)
                {
                    // §5.9.11.2.2: take over the reservation; registrations with the holder's key go.
                    ReservationType oldType = _type;
                    RemoveByKey(victimKey, registrant, preempted, keepSelf: true);
                    _type = type;
                    _holder = IsAllRegistrants(type) ? null : registrant;
                    if (oldType != type)
                        foreach (Registration registration in _registrations)
                            if (registration.Registrant != registrant) released.Add(registration.Registrant);
                }
                else
                {
                    if (victimKey == 0) return PrOutcome.InvalidFieldInParameterList;
                    if (RemoveByKey(victimKey, registrant, preempted, keepSelf: false) == 0) return PrOutcome.ReservationConflict;
                }
            }
            _reserved = _type != ReservationType.None || _spc2Holder is not null;
            _generation++;
            return Persist(aptplChange: null);
        }
    }

    /// <summary>
    /// REGISTER AND MOVE (SA 07h), SPC-4 r37 §5.9.12: registers <paramref name="destination"/> with
    /// <paramref name="newKey"/>, moves the reservation to it and, with <paramref name="unregister"/>,
    /// drops the source registration.
    /// </summary>
    private PrOutcome RegisterAndMoveCore(ITNexus nexus, ulong key, ulong newKey, RegistrantId destination, bool unregister, bool aptpl)
    {
        var registrant = RegistrantId.Of(nexus);
        lock (_gate)
        {
            int index = IndexOf(registrant);
            if (index < 0) return PrOutcome.ReservationConflict;
            if (_registrations[index].Key != key) return PrOutcome.ReservationConflict;
            if (newKey == 0) return PrOutcome.InvalidFieldInParameterList;
            if (_type == ReservationType.None || IsAllRegistrants(_type) || _holder != registrant) return PrOutcome.ReservationConflict;
            if (destination == registrant) return PrOutcome.InvalidFieldInParameterList;
            int destinationIndex = IndexOf(destination);
            if (destinationIndex >= 0) _registrations[destinationIndex] = new Registration(destination, newKey);
            else if (_registrations.Count >= RegistrationsMax) return PrOutcome.InsufficientResources;
            else _registrations.Add(new Registration(destination, newKey));
            _holder = destination;
            if (unregister) _registrations.RemoveAt(IndexOf(registrant));
            _generation++;
            return Persist(aptplChange: aptpl);
        }
    }

    /// <inheritdoc />
    public ValueTask<PrOutcome> RegisterAsync(ITNexus nexus, ulong key, ulong newKey, bool ignoreExisting, bool aptpl, List<RegistrantId> released) => new(RegisterCore(nexus, key, newKey, ignoreExisting, aptpl, released));

    /// <inheritdoc />
    public ValueTask<PrOutcome> ReserveAsync(ITNexus nexus, ulong key, ReservationType type) => new(ReserveCore(nexus, key, type));

    /// <inheritdoc />
    public ValueTask<PrOutcome> ReleaseAsync(ITNexus nexus, ulong key, ReservationType type, List<RegistrantId> released) => new(ReleaseCore(nexus, key, type, released));

    /// <inheritdoc />
    public ValueTask<PrOutcome> ClearAsync(ITNexus nexus, ulong key, List<RegistrantId> preempted) => new(ClearCore(nexus, key, preempted));

    /// <inheritdoc />
    public ValueTask<PrOutcome> PreemptAsync(ITNexus nexus, ulong key, ulong victimKey, ReservationType type, List<RegistrantId> preempted, List<RegistrantId> released) => new(PreemptCore(nexus, key, victimKey, type, preempted, released));

    /// <inheritdoc />
    public ValueTask<PrOutcome> RegisterAndMoveAsync(ITNexus nexus, ulong key, ulong newKey, RegistrantId destination, bool unregister, bool aptpl) => new(RegisterAndMoveCore(nexus, key, newKey, destination, unregister, aptpl));

    private static bool IsAllRegistrants(ReservationType type) =>
        type is ReservationType.WriteExclusiveAllRegistrants or ReservationType.ExclusiveAccessAllRegistrants;

    private bool IsHolderLocked(in RegistrantId registrant, bool registered) =>
        IsAllRegistrants(_type) ? registered : _holder is { } holder && holder == registrant;

    private ulong HolderKeyLocked()
    {
        Invariant.Assert(_holder is not null, "a non-all-registrants reservation has a holder");
        int index = IndexOf(_holder.Value);
        Invariant.Assert(index >= 0, "the holder is registered");
        return _registrations[index].Key;
    }

    private int IndexOf(in RegistrantId registrant)
    {
        for (int i = 0; i < _registrations.Count; i++)
            if (_registrations[i].Registrant == registrant) return i;
        return -1;
    }

    // §5.9.7.4 (unregistering): the holder's reservation goes with it; for all-registrants types
    // only when the last registrant leaves.
    private void Unregister(int index, List<RegistrantId> released)
    {
        RegistrantId registrant = _registrations[index].Registrant;
        _registrations.RemoveAt(index);
        if (_type == ReservationType.None) return;
        if (IsAllRegistrants(_type) ? _registrations.Count == 0 : _holder == registrant)
            ReleaseReservationLocked(registrant, released);
    }

    // §5.9.9.1: releasing a registrants-only or all-registrants reservation tells the other registrants.
    private void ReleaseReservationLocked(in RegistrantId releaser, List<RegistrantId> released)
    {
        if (_type is not (ReservationType.WriteExclusive or ReservationType.ExclusiveAccess))
            foreach (Registration registration in _registrations)
                if (registration.Registrant != releaser) released.Add(registration.Registrant);
        _type = ReservationType.None;
        _holder = null;
        _reserved = _spc2Holder is not null;
    }

    private int RemoveByKey(ulong victimKey, in RegistrantId self, List<RegistrantId> preempted, bool keepSelf)
    {
        int removed = 0;
        for (int i = _registrations.Count - 1; i >= 0; i--)
        {
            Registration registration = _registrations[i];
            if (registration.Key != victimKey) continue;
            if (keepSelf && registration.Registrant == self) continue;
            _registrations.RemoveAt(i);
            removed++;
            if (registration.Registrant != self) preempted.Add(registration.Registrant);
        }
        if (_holder is { } holder && IndexOf(holder) < 0 && !IsAllRegistrants(_type))
        {
            _type = ReservationType.None;
            _holder = null;
        }
        return removed;
    }

    private void RemoveAllBut(in RegistrantId self, List<RegistrantId> preempted)
    {
        for (int i = _registrations.Count - 1; i >= 0; i--)
        {
            if (_registrations[i].Registrant == self) continue;
            preempted.Add(_registrations[i].Registrant);
            _registrations.RemoveAt(i);
        }
    }

    private void ReleaseSpc2Locked()
    {
        _spc2Holder = null;
        _reserved = _type != ReservationType.None;
    }

    private PersistentReservationSnapshot SnapshotLocked() =>
        new(_generation, _registrations.ToArray(), _type, _holder, _aptpl);

    private PrOutcome Persist(bool? aptplChange)
    {
        bool wasPersistent = _aptpl;
        if (aptplChange is { } aptpl) _aptpl = aptpl;
        if (!_aptpl && !wasPersistent) return PrOutcome.Good;
        return _store.Save(SnapshotLocked()) ? PrOutcome.Good : PrOutcome.PersistFailed;
    }
}
