using Sds.Proto.V1;

namespace Sds.Storage.Placement;

/// <summary>
/// Placement from meta's cluster map (DESIGN.md §4): PG members, learners and epochs as meta committed them,
/// node ids mapped to Raft member ids (<c>Node.raft_member_id</c>) and gRPC addresses. Fed whole maps (the
/// watch-backed mirror, or a <c>GetClusterMap</c> answer) and heartbeat <see cref="PgMembershipCommand"/>s,
/// which may run ahead of a lagging map. Readers get an immutable picture swapped in one reference write.
/// </summary>
public sealed class MetaPlacementSource : IPlacementSource
{
    private readonly object gate = new();
    private Picture picture = new(0, [], [], new Dictionary<string, ulong>(StringComparer.Ordinal));

    /// <inheritdoc/>
    public event Action? Changed;

    /// <inheritdoc/>
    public int PlacementGroupCount => picture.Assignments.Length;

    /// <summary>Version of the last cluster map applied (0 before the first).</summary>
    public ulong Version => picture.Version;

    /// <inheritdoc/>
    public PlacementGroupAssignment GetAssignment(uint pgId) => picture.Assignments[pgId];

    /// <inheritdoc/>
    public bool TryGetNodeAddress(ulong memberId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? address) =>
        picture.Addresses.TryGetValue(memberId, out address);

    /// <summary>The Raft member id of the storage node named <paramref name="nodeId"/> in the map.</summary>
    public bool TryGetMemberId(string nodeId, out ulong memberId) => picture.MemberIds.TryGetValue(nodeId, out memberId);

    /// <summary>
    /// Applies a whole cluster map; an older version than the one held is ignored. A PG whose heartbeat command
    /// is newer than the map keeps the command's assignment. Raises <see cref="Changed"/> when applied.
    /// </summary>
    public bool Apply(ClusterMap map)
    {
        lock (gate)
        {
            Picture old = picture;
            if (map.Version <= old.Version || map.PgCount == 0)
            {
                return false;
            }

            // The PG count is fixed when the cluster is initialized: chunk → PG must never change.
            Invariant.Assert(old.Assignments.Length == 0 || old.Assignments.Length == (int)map.PgCount, "the PG count never changes");
            var memberIds = new Dictionary<string, ulong>(StringComparer.Ordinal);
            var addresses = new Dictionary<ulong, string>();
            foreach (Node node in map.Nodes)
            {
                if (node.RaftMemberId != 0 && node.Roles.Contains(NodeRole.Storage))
                {
                    memberIds[node.Id] = node.RaftMemberId;
                    addresses[node.RaftMemberId] = node.GrpcAddress;
                }
            }

            var assignments = new PlacementGroupAssignment[map.PgCount];
            for (uint pg = 0; pg < map.PgCount; pg++)
            {
                assignments[pg] = new PlacementGroupAssignment(pg, 0, [], []);
            }

            foreach (PlacementGroup pg in map.PlacementGroups)
            {
                if (pg.Id >= map.PgCount)
                {
                    continue;
                }

                PlacementGroupAssignment fromMap = new(pg.Id, pg.Epoch, Members(pg.MemberNodeIds, memberIds), Members(pg.LearnerNodeIds, memberIds))
                {
                    Bootstrap = Members(pg.BootstrapMemberNodeIds, memberIds),
                };
                PlacementGroupAssignment? held = old.Assignments.Length > pg.Id ? old.Assignments[pg.Id] : null;
                assignments[pg.Id] = held is not null && held.Epoch > fromMap.Epoch ? held : fromMap;
            }

            picture = new Picture(map.Version, assignments, addresses, memberIds);
        }

        Changed?.Invoke();
        return true;
    }

    /// <summary>
    /// Applies a membership command from a heartbeat answer when it is newer than the PG's epoch here (the map
    /// that carries it may still be on its way). Members unknown to the map held here are ignored until it arrives.
    /// </summary>
    public bool Apply(PgMembershipCommand command)
    {
        lock (gate)
        {
            Picture old = picture;
            if (command.PgId >= old.Assignments.Length || command.TargetEpoch <= old.Assignments[command.PgId].Epoch)
            {
                return false;
            }

            if (!command.MemberNodeIds.All(old.MemberIds.ContainsKey) || !command.LearnerNodeIds.All(old.MemberIds.ContainsKey))
            {
                return false;
            }

            PlacementGroupAssignment current = old.Assignments[command.PgId];
            var assignments = (PlacementGroupAssignment[])old.Assignments.Clone();
            assignments[command.PgId] = new PlacementGroupAssignment(command.PgId, command.TargetEpoch, Members(command.MemberNodeIds, old.MemberIds), Members(command.LearnerNodeIds, old.MemberIds))
            {
                Bootstrap = current.Bootstrap,
            };
            picture = old with { Assignments = assignments };
        }

        Changed?.Invoke();
        return true;
    }

    private static ulong[] Members(IEnumerable<string> nodeIds, Dictionary<string, ulong> memberIds)
    {
        var members = new List<ulong>();
        foreach (string nodeId in nodeIds)
        {
            if (memberIds.TryGetValue(nodeId, out ulong member))
            {
                members.Add(member);
            }
        }

        return [.. members];
    }

    /// <summary>One immutable placement picture; never mutated after it is published.</summary>
    private sealed record Picture(ulong Version, PlacementGroupAssignment[] Assignments, Dictionary<ulong, string> Addresses, Dictionary<string, ulong> MemberIds);
}
