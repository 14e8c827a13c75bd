namespace Sds.Gateway.Scsi.Spc;

/// <summary>
/// The mode pages of one logical unit: read-write error recovery (01h), caching (08h, SBC-3 r36
/// §6.4.5), control (0Ah, SPC-4 r37 §7.5.8) and informational exceptions control (1Ch). Only WCE
/// (whether writes are forced to the medium) is changeable.
/// </summary>
internal sealed class ModePageState
{
    private readonly Lock _gate = new();

    /// <summary>Creates the pages with their default values.</summary>
    public ModePageState()
    {
        ReadWriteErrorRecovery = new ModePage(
            [0x01, 0x0A, 0xC0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            [0x01, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        Caching = new ModePage(
            [0x08, 0x12, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            [0x08, 0x12, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        // QUEUE ALGORITHM MODIFIER 1: unrestricted reordering; the transport orders by CmdSN only.
        // SWP (byte 4 bit 3) is honoured by the dispatcher but not changeable: changing it would
        // raise MODE PARAMETERS CHANGED on every other nexus (SPC-4 r37 §7.5.1), which libiscsi's
        // per-test PR teardown on the second path trips over. Read-only LUs use LogicalUnit.ReadOnly.
        Control = new ModePage(
            [0x0A, 0x0A, 0x00, 0x10, 0x00, 0x00, 0, 0, 0, 0, 0, 0],
            [0x0A, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        // DEXCPT: informational exceptions are disabled (there is no failure prediction).
        InformationalExceptions = new ModePage(
            [0x1C, 0x0A, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 0],
            [0x1C, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        Pages = [ReadWriteErrorRecovery, Caching, Control, InformationalExceptions];
    }

    /// <summary>Read-write error recovery page (01h).</summary>
    public ModePage ReadWriteErrorRecovery { get; }

    /// <summary>Caching page (08h).</summary>
    public ModePage Caching { get; }

    /// <summary>Control page (0Ah).</summary>
    public ModePage Control { get; }

    /// <summary>Informational exceptions control page (1Ch).</summary>
    public ModePage InformationalExceptions { get; }

    /// <summary>All pages in ascending page code order (the order 3Fh returns them in).</summary>
    public ModePage[] Pages { get; }

    /// <summary>Lock taken while MODE SELECT changes values or MODE SENSE copies them.</summary>
    public Lock Gate => _gate;

    /// <summary>WCE in the current caching page.</summary>
    public bool WriteCacheEnabled => (Volatile.Read(ref Caching.Current[2]) & 0x04) != 0;

    /// <summary>SWP (software write protect) in the current control page.</summary>
    public bool SoftwareWriteProtect => (Volatile.Read(ref Control.Current[4]) & 0x08) != 0;

    /// <summary>The page with <paramref name="code"/>, or null.</summary>
    public ModePage? Find(int code)
    {
        foreach (ModePage page in Pages)
            if (page.Code == code) return page;
        return null;
    }

    /// <summary>Current values return to the saved ones (logical unit reset, SPC-4 r37 §7.5.1).</summary>
    public void RestoreSaved()
    {
        lock (_gate)
            foreach (ModePage page in Pages) page.Saved.CopyTo(page.Current, 0);
    }
}
