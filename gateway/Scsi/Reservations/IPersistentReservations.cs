namespace Sds.Gateway.Scsi.Reservations;

/// <summary>
/// The reservation state of one logical unit as the command set uses it: SPC-4 r37 §5.9 persistent
/// reservations plus SPC-2 RESERVE/RELEASE. <see cref="PersistentReservations"/> keeps it in
/// process; a cluster implementation will run the PR OUT actions as Raft commands in the meta
/// service and answer <see cref="Check"/> from a watched, versioned copy (DESIGN.md §6), which
/// is why the mutations are asynchronous and the check is not (<see cref="MetaPersistentReservations"/>).
/// </summary>
internal interface IPersistentReservations
{
    /// <summary>Whether Activate Persist Through Power Loss is set.</summary>
    bool Aptpl { get; }

    /// <summary>A consistent copy of the persistent reservation state (PR IN).</summary>
    PersistentReservationSnapshot Snapshot();

    /// <summary>
    /// Whether <paramref name="command"/> from <paramref name="nexus"/> conflicts with a reservation held
    /// through another nexus, or cannot be judged (<see cref="ReservationCheck.Unavailable"/>). Called for
    /// every command: no I/O, no allocation, one volatile read when nothing is reserved.
    /// </summary>
    ReservationCheck Check(ITNexus nexus, CommandDescriptor command);

    /// <summary>SPC-2 RESERVE(6/10); false means RESERVATION CONFLICT.</summary>
    ValueTask<bool> ReserveSpc2Async(ITNexus nexus);

    /// <summary>SPC-2 RELEASE(6/10) from <paramref name="nexus"/> (no effect unless it holds the reservation).</summary>
    ValueTask ReleaseSpc2Async(ITNexus nexus);

    /// <summary>
    /// Logical unit or target reset (<paramref name="scope"/>): drops any SPC-2 reservation (SPC-2 §5.5.1). A shared
    /// implementation also tells the other gateways, which raise the reset's unit attention for the nexuses they hold
    /// (and after a cold reset end their sessions of the target); the caller does both for its own. Completes when
    /// that is done.
    /// </summary>
    ValueTask ResetAsync(ResetScope scope);

    /// <summary>I_T nexus loss (SPC-2 §5.5.1: the nexus's SPC-2 reservation goes); completes when it is gone everywhere.</summary>
    ValueTask NexusLostAsync(ITNexus nexus);

    /// <summary>REGISTER / REGISTER AND IGNORE EXISTING KEY.</summary>
    ValueTask<PrOutcome> RegisterAsync(ITNexus nexus, ulong key, ulong newKey, bool ignoreExisting, bool aptpl, List<RegistrantId> released);

    /// <summary>RESERVE.</summary>
    ValueTask<PrOutcome> ReserveAsync(ITNexus nexus, ulong key, ReservationType type);

    /// <summary>RELEASE.</summary>
    ValueTask<PrOutcome> ReleaseAsync(ITNexus nexus, ulong key, ReservationType type, List<RegistrantId> released);

    /// <summary>CLEAR.</summary>
    ValueTask<PrOutcome> ClearAsync(ITNexus nexus, ulong key, List<RegistrantId> preempted);

    /// <summary>PREEMPT / PREEMPT AND ABORT.</summary>
    ValueTask<PrOutcome> PreemptAsync(ITNexus nexus, ulong key, ulong victimKey, ReservationType type, List<RegistrantId> preempted, List<RegistrantId> released);

    /// <summary>REGISTER AND MOVE.</summary>
    ValueTask<PrOutcome> RegisterAndMoveAsync(ITNexus nexus, ulong key, ulong newKey, RegistrantId destination, bool unregister, bool aptpl);
}
