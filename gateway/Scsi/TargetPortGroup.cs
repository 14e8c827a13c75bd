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

/// <summary>One ALUA target port group: a gateway and the relative target port ids of its portals.</summary>
/// <param name="Id">TARGET PORT GROUP identifier (stable per gateway).</param>
/// <param name="State">Asymmetric access state.</param>
/// <param name="RelativeTargetPortIds">Relative target port identifiers in the group.</param>
internal sealed record TargetPortGroup(ushort Id, AsymmetricAccessState State, IReadOnlyList<ushort> RelativeTargetPortIds);
