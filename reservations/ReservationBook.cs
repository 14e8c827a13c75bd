using System.Diagnostics;

namespace Sds.Reservations;

/// <summary>
/// The reservation state of one logical unit and the SPC-4 r37 §5.9 rules that change it: every
/// PERSISTENT RESERVE OUT service action, SPC-2 RESERVE/RELEASE, and the conflict check of
/// §5.9.1 table 48 / SBC-3 r36 table 8. This is the one copy of the rules: the gateway runs it in
/// process (<c>PersistentReservations</c>, one LU per process) and the meta state machine runs it
/// as a Raft command (<c>ReservationLogic</c>), so every gateway of a cluster sees one order of
/// changes (DESIGN.md §6). No I/O, no clock, no locks: callers serialize access.
/// </summary>
/// <remarks>
/// Service actions return a <see cref="PrOutcome"/> and fill the caller's lists with the registrants
/// that must get a unit attention: <c>preempted</c> (REGISTRATIONS PREEMPTED, or RESERVATIONS
/// PREEMPTED for CLEAR) and <c>released</c> (RESERVATIONS RELEASED). A refused action changes nothing.
/// </remarks>
internal sealed class ReservationBook
{
    /// <summary>Registrations kept per logical unit (bounded; INSUFFICIENT REGISTRATION RESOURCES beyond).</summary>
    public const int RegistrationsMax = 256;

    private readonly List<Registration> registrations;

    /// <summary>An empty book (nobody registered, nothing reserved).</summary>
    public ReservationBook() => registrations = new List<Registration>();

    /// <summary>A book holding <paramref name="snapshot"/> and, optionally, an SPC-2 reservation.</summary>
    public ReservationBook(PersistentReservationSnapshot snapshot, RegistrantId? spc2Holder = null)
    {
        registrations = new List<Registration>(snapshot.Registrations);
        Generation = snapshot.Generation;
        Type = snapshot.Type;
        Holder = Type == ReservationType.None || IsAllRegistrants(Type) ? null : snapshot.Holder;
        Aptpl = snapshot.Aptpl;
        Spc2Holder = spc2Holder;
        if (Type != ReservationType.None && !IsAllRegistrants(Type) && (Holder is not { } holder || IndexOf(holder) < 0))
        {
            // Stored state from outside (a file, a replicated message) whose holder is not registered: no
            // reservation can exist without its holder's registration (§5.9.7.4), so there is none.
            Type = ReservationType.None;
            Holder = null;
        }
    }

    /// <summary>PRGENERATION (SPC-4 r37 §6.14.2): bumped by REGISTER, CLEAR, PREEMPT and REGISTER AND MOVE.</summary>
    public uint Generation { get; private set; }

    /// <summary>Registrations in registration order.</summary>
    public IReadOnlyList<Registration> Registrations => registrations;

    /// <summary>Persistent reservation type, or None.</summary>
    public ReservationType Type { get; private set; }

    /// <summary>The holder for non-all-registrants types (null otherwise).</summary>
    public RegistrantId? Holder { get; private set; }

    /// <summary>APTPL as last set by REGISTER or REGISTER AND MOVE.</summary>
    public bool Aptpl { get; private set; }

    /// <summary>The I_T nexus holding an SPC-2 RESERVE(6/10) reservation, if any.</summary>
    public RegistrantId? Spc2Holder { get; private set; }

    /// <summary>Whether a reservation of either kind exists (when false no command can conflict).</summary>
    public bool Reserved => Type != ReservationType.None || Spc2Holder is not null;

    /// <summary>The persistent part as a value (PR IN, APTPL stores, replication).</summary>
    public PersistentReservationSnapshot ToSnapshot() => new(Generation, registrations.ToArray(), Type, Holder, Aptpl);

    /// <summary>
    /// Whether a command with <paramref name="access"/> from <paramref name="registrant"/> conflicts
    /// (SPC-4 r37 §5.9.1 table 48, SBC-3 r36 table 8; SPC-2 §5.5.1 for RESERVE(6/10), where only
    /// commands flagged <paramref name="allowedUnderSpc2"/> pass). Reads only: safe on a book that is
    /// no longer changed (the gateway publishes immutable books for the hot path).
    /// </summary>
    public bool Conflicts(in RegistrantId registrant, PrAccess access, bool allowedUnderSpc2)
    {
        if (Spc2Holder is { } spc2 && spc2 != registrant) return !allowedUnderSpc2;
        if (Type == ReservationType.None || access == PrAccess.Allowed) return false;
        bool registered = IndexOf(registrant) >= 0;
        if (IsHolder(registrant, registered)) return false;
        return (Type, access) switch
        {
            (ReservationType.WriteExclusive, PrAccess.Read) => false,
            (ReservationType.WriteExclusiveRegistrantsOnly or ReservationType.WriteExclusiveAllRegistrants, PrAccess.Read) => false,
            (ReservationType.WriteExclusive or ReservationType.ExclusiveAccess, _) => true,
            _ => !registered,
        };
    }

    /// <summary>SPC-2 RESERVE(6/10): false (RESERVATION CONFLICT) when another nexus holds a reservation of either kind.</summary>
    public bool ReserveSpc2(in RegistrantId registrant)
    {
        if (Type != ReservationType.None) return false;
        if (Spc2Holder is { } holder && holder != registrant) return false;
        Spc2Holder = registrant;
        return true;
    }

    /// <summary>SPC-2 RELEASE(6/10): releases the reservation if <paramref name="registrant"/> holds it; true when something changed.</summary>
    public bool ReleaseSpc2(in RegistrantId registrant)
    {
        if (Spc2Holder is not { } holder || holder != registrant) return false;
        Spc2Holder = null;
        return true;
    }

    /// <summary>Drops any SPC-2 reservation (logical unit reset, SPC-2 §5.5.1); true when something changed.</summary>
    public bool ReleaseSpc2()
    {
        bool had = Spc2Holder is not null;
        Spc2Holder = null;
        return had;
    }

    /// <summary>REGISTER (SA 00h) and REGISTER AND IGNORE EXISTING KEY (SA 06h), SPC-4 r37 §5.9.7.</summary>
    public PrOutcome Register(in RegistrantId registrant, ulong key, ulong newKey, bool ignoreExisting, bool aptpl, List<RegistrantId> released)
    {
        int index = IndexOf(registrant);
        if (index < 0)
        {
            // §5.9.7.2: an unregistered nexus must send key 0 (unless ignoring).
            if (!ignoreExisting && key != 0) return PrOutcome.ReservationConflict;
            if (newKey == 0)
            {
                Aptpl = aptpl;
                return PrOutcome.Good;
            }
            if (registrations.Count >= RegistrationsMax) return PrOutcome.InsufficientResources;
            registrations.Add(new Registration(registrant, newKey));
        }
        else
        {
            if (!ignoreExisting && registrations[index].Key != key) return PrOutcome.ReservationConflict;
            if (newKey == 0) Unregister(index, released);
            else registrations[index] = new Registration(registrant, newKey);
        }
        Generation++;
        Aptpl = aptpl;
        return PrOutcome.Good;
    }

    /// <summary>RESERVE (SA 01h), SPC-4 r37 §5.9.8.</summary>
    public PrOutcome Reserve(in RegistrantId registrant, ulong key, ReservationType type)
    {
        if (Spc2Holder is not null) return PrOutcome.ReservationConflict;
        int index = IndexOf(registrant);
        if (index < 0 || registrations[index].Key != key) return PrOutcome.ReservationConflict;
        if (Type != ReservationType.None)
        {
            // §5.9.8.3: the holder asking again with the same type is a no-op; anything else conflicts.
            return IsHolder(registrant, true) && Type == type ? PrOutcome.Good : PrOutcome.ReservationConflict;
        }
        Type = type;
        Holder = IsAllRegistrants(type) ? null : registrant;
        return PrOutcome.Good;
    }

    /// <summary>RELEASE (SA 02h), SPC-4 r37 §5.9.9.</summary>
    public PrOutcome Release(in RegistrantId registrant, ulong key, ReservationType type, List<RegistrantId> released)
    {
        int index = IndexOf(registrant);
        if (index < 0 || registrations[index].Key != key) return PrOutcome.ReservationConflict;
        if (Type == ReservationType.None || !IsHolder(registrant, true)) return PrOutcome.Good;
        if (Type != type) return PrOutcome.InvalidRelease;
        ReleaseReservation(registrant, released);
        return PrOutcome.Good;
    }

    /// <summary>CLEAR (SA 03h), SPC-4 r37 §5.9.10; <paramref name="preempted"/> gets every other registrant (RESERVATIONS PREEMPTED).</summary>
    public PrOutcome Clear(in RegistrantId registrant, ulong key, List<RegistrantId> preempted)
    {
        int index = IndexOf(registrant);
        if (index < 0 || registrations[index].Key != key) return PrOutcome.ReservationConflict;
        foreach (Registration registration in registrations)
            if (registration.Registrant != registrant) preempted.Add(registration.Registrant);
        registrations.Clear();
        Type = ReservationType.None;
        Holder = null;
        Generation++;
        return PrOutcome.Good;
    }

    /// <summary>
    /// PREEMPT (SA 04h) and PREEMPT AND ABORT (SA 05h), SPC-4 r37 §5.9.11. <paramref name="preempted"/>
    /// gets registrants whose registration was removed; <paramref name="released"/> gets remaining
    /// registrants that lost the old reservation.
    /// </summary>
    public PrOutcome Preempt(in RegistrantId registrant, ulong key, ulong victimKey, ReservationType type, List<RegistrantId> preempted, List<RegistrantId> released)
    {
        int index = IndexOf(registrant);
        if (index < 0 || registrations[index].Key != key) return PrOutcome.ReservationConflict;
        if (Type == ReservationType.None)
        {
            // §5.9.11.2.1: no reservation, so only registrations are removed.
            if (victimKey == 0) return PrOutcome.InvalidFieldInParameterList;
            if (RemoveByKey(victimKey, registrant, preempted, keepSelf: false) == 0) return PrOutcome.ReservationConflict;
        }
        else if (IsAllRegistrants(Type))
        {
            // §5.9.11.2.3: with victim key 0 every other registration goes and the preempter holds a new reservation.
            if (victimKey == 0)
            {
                RemoveAllBut(registrant, preempted);
                Type = type;
                Holder = IsAllRegistrants(type) ? null : registrant;
            }
            else if (RemoveByKey(victimKey, registrant, preempted, keepSelf: false) == 0)
            {
                return PrOutcome.ReservationConflict;
            }
        }
        else
        {
            ulong holderKey = HolderKey();
            if (victimKey == holderKey)
            {
                // §5.9.11.2.2: take over the reservation; registrations with the holder's key go.
                ReservationType oldType = Type;
                RemoveByKey(victimKey, registrant, preempted, keepSelf: true);
                Type = type;
                Holder = IsAllRegistrants(type) ? null : registrant;
                if (oldType != type)
                    foreach (Registration registration in registrations)
                        if (registration.Registrant != registrant) released.Add(registration.Registrant);
            }
            else
            {
                if (victimKey == 0) return PrOutcome.InvalidFieldInParameterList;
                if (RemoveByKey(victimKey, registrant, preempted, keepSelf: false) == 0) return PrOutcome.ReservationConflict;
            }
        }
        Generation++;
        return PrOutcome.Good;
    }

    /// <summary>
    /// REGISTER AND MOVE (SA 07h), SPC-4 r37 §5.9.12: registers <paramref name="destination"/> with
    /// <paramref name="newKey"/>, moves the reservation to it and, with <paramref name="unregister"/>,
    /// drops the source registration.
    /// </summary>
    public PrOutcome RegisterAndMove(in RegistrantId registrant, ulong key, ulong newKey, in RegistrantId destination, bool unregister, bool aptpl)
    {
        int index = IndexOf(registrant);
        if (index < 0 || registrations[index].Key != key) return PrOutcome.ReservationConflict;
        if (newKey == 0) return PrOutcome.InvalidFieldInParameterList;
        if (Type == ReservationType.None || IsAllRegistrants(Type) || Holder != registrant) return PrOutcome.ReservationConflict;
        if (destination == registrant) return PrOutcome.InvalidFieldInParameterList;
        int destinationIndex = IndexOf(destination);
        if (destinationIndex >= 0) registrations[destinationIndex] = new Registration(destination, newKey);
        else if (registrations.Count >= RegistrationsMax) return PrOutcome.InsufficientResources;
        else registrations.Add(new Registration(destination, newKey));
        Holder = destination;
        if (unregister) registrations.RemoveAt(IndexOf(registrant));
        Generation++;
        Aptpl = aptpl;
        return PrOutcome.Good;
    }

    /// <summary>Whether <paramref name="type"/> is one of the two all-registrants types (every registrant holds it).</summary>
    public static bool IsAllRegistrants(ReservationType type) =>
        type is ReservationType.WriteExclusiveAllRegistrants or ReservationType.ExclusiveAccessAllRegistrants;

    private bool IsHolder(in RegistrantId registrant, bool registered) =>
        IsAllRegistrants(Type) ? registered : Holder is { } holder && holder == registrant;

    private ulong HolderKey()
    {
        Check(Holder is not null, "a non-all-registrants reservation has a holder");
        int index = IndexOf(Holder!.Value);
        Check(index >= 0, "the holder is registered");
        return registrations[index].Key;
    }

    private int IndexOf(in RegistrantId registrant)
    {
        for (int i = 0; i < registrations.Count; i++)
            if (registrations[i].Registrant == registrant) return i;
        return -1;
    }

    // §5.9.7.4 (unregistering): the holder's reservation goes with it; for all-registrants types
    // only when the last registrant leaves.
    private void Unregister(int index, List<RegistrantId> released)
    {
        RegistrantId registrant = registrations[index].Registrant;
        registrations.RemoveAt(index);
        if (Type == ReservationType.None) return;
        if (IsAllRegistrants(Type) ? registrations.Count == 0 : Holder == registrant)
            ReleaseReservation(registrant, released);
    }

    // §5.9.9.1: releasing a registrants-only or all-registrants reservation tells the other registrants.
    private void ReleaseReservation(in RegistrantId releaser, List<RegistrantId> released)
    {
        if (Type is not (ReservationType.WriteExclusive or ReservationType.ExclusiveAccess))
            foreach (Registration registration in registrations)
                if (registration.Registrant != releaser) released.Add(registration.Registrant);
        Type = ReservationType.None;
        Holder = null;
    }

    private int RemoveByKey(ulong victimKey, in RegistrantId self, List<RegistrantId> preempted, bool keepSelf)
    {
        int removed = 0;
        for (int i = registrations.Count - 1; i >= 0; i--)
        {
            Registration registration = registrations[i];
            if (registration.Key != victimKey) continue;
            if (keepSelf && registration.Registrant == self) continue;
            registrations.RemoveAt(i);
            removed++;
            if (registration.Registrant != self) preempted.Add(registration.Registrant);
        }
        if (Holder is { } holder && IndexOf(holder) < 0 && !IsAllRegistrants(Type))
        {
            Type = ReservationType.None;
            Holder = null;
        }
        return removed;
    }

    private void RemoveAllBut(in RegistrantId self, List<RegistrantId> preempted)
    {
        for (int i = registrations.Count - 1; i >= 0; i--)
        {
            if (registrations[i].Registrant == self) continue;
            preempted.Add(registrations[i].Registrant);
            registrations.RemoveAt(i);
        }
    }

    // An invariant of the rules failed: a bug, so stop (STYLE.md "Exceptions mean bugs").
    private static void Check(bool condition, string why)
    {
        if (!condition) throw new UnreachableException("reservation invariant violated: " + why);
    }
}
