namespace Sds.Gateway.Scsi.Spc;

/// <summary>
/// One mode page (SPC-4 r37 §7.5.7) with its four value sets: default, changeable (a bit mask of
/// what MODE SELECT may change), current and saved. Byte 0 is the PAGE CODE, byte 1 the PAGE LENGTH.
/// </summary>
internal sealed class ModePage
{
    /// <summary>Creates a page from its default values and changeable mask (same length).</summary>
    public ModePage(byte[] defaults, byte[] changeable)
    {
        Block.Invariant.Assert(defaults.Length == changeable.Length && defaults.Length == defaults[1] + 2, "page length matches");
        Code = (byte)(defaults[0] & 0x3F);
        Default = defaults;
        Changeable = changeable;
        Current = (byte[])defaults.Clone();
        Saved = (byte[])defaults.Clone();
    }

    /// <summary>PAGE CODE.</summary>
    public byte Code { get; }

    /// <summary>Length of the page including its 2-byte header.</summary>
    public int LengthBytes => Default.Length;

    /// <summary>Default values.</summary>
    public byte[] Default { get; }

    /// <summary>Changeable mask.</summary>
    public byte[] Changeable { get; }

    /// <summary>Current values.</summary>
    public byte[] Current { get; }

    /// <summary>Saved values (kept in memory for the life of the logical unit).</summary>
    public byte[] Saved { get; }

    /// <summary>The value set selected by the MODE SENSE PAGE CONTROL field (SPC-4 r37 table 99).</summary>
    public byte[] Select(int pageControl) => pageControl switch
    {
        0 => Current,
        1 => Changeable,
        2 => Default,
        _ => Saved,
    };
}
