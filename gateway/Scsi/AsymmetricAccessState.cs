namespace Sds.Gateway.Scsi;

/// <summary>SPC-4 r37 §6.37 asymmetric access states reported by REPORT TARGET PORT GROUPS.</summary>
internal enum AsymmetricAccessState : byte
{
    /// <summary>Active/optimized: every gateway serves I/O equally (DESIGN.md §6).</summary>
    ActiveOptimized = 0x0,
    /// <summary>Active/non-optimized.</summary>
    ActiveNonOptimized = 0x1,
    /// <summary>Standby.</summary>
    Standby = 0x2,
    /// <summary>Unavailable.</summary>
    Unavailable = 0x3,
}
