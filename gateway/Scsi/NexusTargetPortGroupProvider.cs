namespace Sds.Gateway.Scsi;

/// <summary>
/// The default provider: one active/optimized group containing every relative target port known
/// up front plus the requester's own, under the requester's group id. Good for one gateway with
/// several portals; a cluster gateway uses a provider fed by the cluster map instead.
/// </summary>
internal sealed class NexusTargetPortGroupProvider : ITargetPortGroupProvider
{
    private readonly ushort[] _knownPorts;

    /// <summary>Creates the provider with the relative target port ids of this gateway's portals.</summary>
    public NexusTargetPortGroupProvider(params ushort[] knownRelativeTargetPortIds) => _knownPorts = knownRelativeTargetPortIds;

    /// <inheritdoc />
    public IReadOnlyList<TargetPortGroup> GetTargetPortGroups(ITNexus requester)
    {
        var ports = new SortedSet<ushort>(_knownPorts) { requester.RelativeTargetPortId };
        return [new TargetPortGroup(requester.TargetPortGroupId, AsymmetricAccessState.ActiveOptimized, [.. ports])];
    }
}
