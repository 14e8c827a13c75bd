using Sds.Meta.State;
using Sds.Proto.V1;

namespace Sds.Meta.Api;

/// <summary>Summarizes the state into <see cref="ClusterStatus"/> (sds status).</summary>
internal static class ClusterStatusReport
{
    /// <summary>Builds the status; runs on the host thread.</summary>
    public static ClusterStatus Build(MetaStateMachine state, string leader, uint members)
    {
        var status = new ClusterStatus
        {
            ClusterMapVersion = state.Version,
            MetaLeaderNodeId = leader,
            MetaMembers = members,
            VolumeCount = (uint)state.VolumeCount,
            TargetCount = (uint)state.TargetCount,
        };
        var up = new HashSet<string>(StringComparer.Ordinal);
        foreach (Node node in state.Nodes)
        {
            if (node.State is NodeState.Up or NodeState.Draining)
            {
                status.NodesUp++;
                up.Add(node.Id);
                if (node.Roles.Contains(NodeRole.Storage))
                {
                    status.CapacityBytes += node.CapacityBytes;
                    status.UsedBytes += node.UsedBytes;
                }
            }
            else
            {
                status.NodesDown++;
            }
        }

        foreach (PlacementGroup pg in state.PlacementGroups)
        {
            status.PgsTotal++;
            int healthy = pg.MemberNodeIds.Count(up.Contains);
            if (pg.MemberNodeIds.Count == 0 || healthy * 2 <= pg.MemberNodeIds.Count)
            {
                status.PgsInactive++;
            }
            else if (pg.LearnerNodeIds.Count > 0)
            {
                status.PgsRecovering++;
            }
            else if (healthy < state.DefaultReplicas)
            {
                status.PgsDegraded++;
            }
            else
            {
                status.PgsActive++;
            }
        }

        status.Health = status.PgsInactive > 0 ? ClusterHealth.Unavailable
            : status.PgsDegraded + status.PgsRecovering + status.NodesDown > 0 ? ClusterHealth.Degraded
            : ClusterHealth.Ok;
        return status;
    }
}
