namespace Sds.Gateway.Scsi;

/// <summary>One ALUA target port group: a gateway and the relative target port ids of its portals.</summary>
/// <param name="Id">TARGET PORT GROUP identifier (stable per gateway).</param>
/// <param name="State">Asymmetric access state.</param>
/// <param name="RelativeTargetPortIds">Relative target port identifiers in the group.</param>
internal sealed record TargetPortGroup(ushort Id, AsymmetricAccessState State, IReadOnlyList<ushort> RelativeTargetPortIds);
