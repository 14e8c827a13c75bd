namespace Sds.Gateway.Scsi.Sbc;

/// <summary>
/// The medium state of a logical unit whose INQUIRY data sets RMB (SPC-4 r37 §6.6.2): whether the
/// medium is loaded, and which I_T nexuses prevent its removal (SBC-3 r36 §5.14 PREVENT ALLOW
/// MEDIUM REMOVAL). A virtual medium is the same image whether "ejected" or not; ejecting only
/// makes medium-access commands end in NOT READY, MEDIUM NOT PRESENT until it is loaded again.
/// This copy lives in one process (<c>sds server</c>, unit tests); every change completes synchronously.
/// </summary>
internal sealed class RemovableMedium : IRemovableMedium
{
    private readonly Lock _gate = new();
    // Invariant: only nexuses whose last PREVENT ALLOW MEDIUM REMOVAL had PREVENT = 01b, and that
    // have not been lost or reset since.
    private readonly HashSet<ITNexus> _preventing = new();
    private volatile bool _present = true;

    /// <inheritdoc />
    public bool Present => _present;

    /// <inheritdoc />
    public ValueTask<MediumChange> PreventAsync(ITNexus nexus, bool prevent)
    {
        lock (_gate)
        {
            if (prevent) _preventing.Add(nexus);
            else _preventing.Remove(nexus);
        }
        return ValueTask.FromResult(MediumChange.Done);
    }

    /// <inheritdoc />
    public ValueTask<MediumChange> ChangeAsync(ITNexus nexus, bool load)
    {
        lock (_gate)
        {
            // SBC-3 r36 §5.14: the prevention is a condition of the logical unit, set by any nexus.
            if (_preventing.Count > 0) return ValueTask.FromResult(MediumChange.RemovalPrevented);
            _present = load;
            return ValueTask.FromResult(MediumChange.Done);
        }
    }

    /// <inheritdoc />
    public ValueTask NexusLostAsync(ITNexus nexus)
    {
        lock (_gate) _preventing.Remove(nexus);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public void Reset()
    {
        lock (_gate) _preventing.Clear();
    }
}
