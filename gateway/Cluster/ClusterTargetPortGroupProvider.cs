using Sds.Gateway.Scsi;

namespace Sds.Gateway.Cluster;

/// <summary>
/// REPORT TARGET PORT GROUPS from the cluster map (DESIGN.md §6, SPC-4 r37 §6.37): one target port group per
/// gateway, holding that gateway's relative target port. Live gateways are active/optimized; a gateway meta
/// marks down (or out) is reported UNAVAILABLE, so a multipath initiator stops choosing that path before its
/// own path checker notices. The group of the gateway answering is always active/optimized: it is answering.
/// </summary>
/// <remarks>
/// The list is replaced as a whole (<see cref="Update"/>) when the watched map changes and read without a lock;
/// every logical unit of every target of this gateway shares the one instance.
/// </remarks>
internal sealed class ClusterTargetPortGroupProvider : ITargetPortGroupProvider
{
    private volatile IReadOnlyList<TargetPortGroup> groups = [];

    /// <summary>Replaces the gateways' groups (states as the map says; the requester's own group is overridden).</summary>
    public void Update(IReadOnlyList<TargetPortGroup> gatewayGroups)
    {
        Block.Invariant.Assert(gatewayGroups.Select(static g => g.Id).Distinct().Count() == gatewayGroups.Count, "one group per gateway");
        groups = gatewayGroups;
    }

    /// <inheritdoc />
    public IReadOnlyList<TargetPortGroup> GetTargetPortGroups(ITNexus requester)
    {
        IReadOnlyList<TargetPortGroup> known = groups;
        var answer = new List<TargetPortGroup>(known.Count + 1);
        bool own = false;
        foreach (TargetPortGroup group in known)
        {
            if (group.Id == requester.TargetPortGroupId)
            {
                own = true;
                answer.Add(group with { State = AsymmetricAccessState.ActiveOptimized });
                continue;
            }

            answer.Add(group);
        }

        if (!own)
        {
            // Before the first map (or if meta lost this gateway's record) the requester's path still works.
            answer.Add(new TargetPortGroup(requester.TargetPortGroupId, AsymmetricAccessState.ActiveOptimized, [requester.RelativeTargetPortId]));
        }

        answer.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return answer;
    }
}
