namespace Sds.Gateway.Scsi.Sbc;

/// <summary>
/// The medium state of a logical unit whose INQUIRY data sets RMB (SPC-4 r37 §6.6.2): whether the
/// medium is loaded, and which I_T nexuses prevent its removal (SBC-3 r36 §5.14 PREVENT ALLOW
/// MEDIUM REMOVAL). A virtual medium is the same image whether "ejected" or not; ejecting only
/// makes medium-access commands end in NOT READY, MEDIUM NOT PRESENT until it is loaded again.
/// </summary>
internal sealed class RemovableMedium
{
    private readonly Lock _gate = new();
    // Invariant: only nexuses whose last PREVENT ALLOW MEDIUM REMOVAL had PREVENT = 01b, and that
    // have not been lost or reset since.
    private readonly HashSet<ITNexus> _preventing = new();
    private volatile bool _present = true;

    /// <summary>Whether the medium is loaded (the dispatcher reads this once per medium-access command).</summary>
    public bool Present => _present;

    /// <summary>Records PREVENT = 01b (true) or 00b (false) from <paramref name="nexus"/>.</summary>
    public void SetPrevent(ITNexus nexus, bool prevent)
    {
        lock (_gate)
        {
            if (prevent) _preventing.Add(nexus);
            else _preventing.Remove(nexus);
        }
    }

    /// <summary>
    /// Loads (<paramref name="load"/> true) or ejects the medium, unless removal is prevented;
    /// false when prevented (the caller reports MEDIUM REMOVAL PREVENTED). Checked and changed
    /// under one lock so a PREVENT from another nexus cannot slip between the check and the eject.
    /// </summary>
    public bool TryChange(bool load)
    {
        lock (_gate)
        {
            // SBC-3 r36 §5.14: the prevention is a condition of the logical unit, set by any nexus.
            if (_preventing.Count > 0) return false;
            _present = load;
            return true;
        }
    }

    /// <summary>
    /// SBC-3 r36 §5.14: prevention ends for a nexus on I_T nexus loss (logout, connection loss,
    /// session reinstatement).
    /// </summary>
    public void NexusLost(ITNexus nexus)
    {
        lock (_gate) _preventing.Remove(nexus);
    }

    /// <summary>
    /// SBC-3 r36 §5.14: every prevention ends on a logical unit reset, hard reset or power on
    /// (SAM-5 §6.3: a target reset is a logical unit reset of each logical unit). The medium
    /// itself stays where it is, as a tray would.
    /// </summary>
    public void Reset()
    {
        lock (_gate) _preventing.Clear();
    }
}
