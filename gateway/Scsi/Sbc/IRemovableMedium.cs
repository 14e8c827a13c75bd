namespace Sds.Gateway.Scsi.Sbc;

/// <summary>
/// The medium state of a logical unit whose INQUIRY data sets RMB (SPC-4 r37 §6.6.2): whether the medium is
/// loaded, and which I_T nexuses prevent its removal (SBC-3 r36 §5.14). <see cref="RemovableMedium"/> keeps it in
/// process (<c>sds server</c>); <see cref="Reservations.MetaRemovableMedium"/> keeps it in meta's per-volume record,
/// so an eject or a prevention through one gateway holds for the nexuses of every other (DESIGN.md §6). The changes
/// are asynchronous (a meta round trip there); <see cref="Present"/>, read by every medium-access command, is not.
/// </summary>
internal interface IRemovableMedium
{
    /// <summary>Whether the medium is loaded: a volatile read of a locally held copy (no I/O, no allocation).</summary>
    bool Present { get; }

    /// <summary>Records PREVENT = 01b (true) or 00b (false) from <paramref name="nexus"/>.</summary>
    ValueTask<MediumChange> PreventAsync(ITNexus nexus, bool prevent);

    /// <summary>
    /// Loads (<paramref name="load"/> true) or ejects the medium unless a nexus prevents removal; checked and changed
    /// in one step, so a PREVENT from another nexus cannot slip between the check and the change.
    /// </summary>
    ValueTask<MediumChange> ChangeAsync(ITNexus nexus, bool load);

    /// <summary>
    /// SBC-3 r36 §5.14: I_T nexus loss (logout, connection loss, reinstatement) ends that nexus's prevention;
    /// completes when the prevention is gone everywhere, so a new login of the same initiator finds it gone.
    /// </summary>
    ValueTask NexusLostAsync(ITNexus nexus);

    /// <summary>
    /// SBC-3 r36 §5.14: a logical unit reset (and a target reset, SAM-5 §6.3) ends every prevention; the medium stays
    /// where it is, as a tray would. A shared state ends them with the reset's own meta command instead (the reset
    /// path already goes through meta: <see cref="Reservations.IPersistentReservations.ResetAsync"/>).
    /// </summary>
    void Reset();
}
