using Sds.Proto.V1;
using Sds.Storage.Placement;

namespace Sds.Storage.Tests.Placement;

/// <summary>
/// Meta-backed placement: node ids in the map become Raft member ids and addresses, a map never goes backwards,
/// a heartbeat's membership command newer than the map wins until a newer map arrives, and the recorded bootstrap
/// voters pass through unchanged (only they may bootstrap a PG's Raft group).
/// </summary>
public sealed class MetaPlacementSourceTests
{
    [Fact]
    public void MapsNodeIdsToMembersAndNeverGoesBackwards()
    {
        var placement = new MetaPlacementSource();
        int changes = 0;
        placement.Changed += () => changes++;
        Assert.Equal(0, placement.PlacementGroupCount);

        Assert.True(placement.Apply(Map(version: 5, epoch: 1, members: ["storage-a", "storage-b", "storage-c"])));
        Assert.Equal(2, placement.PlacementGroupCount);
        Assert.True(placement.TryGetMemberId("storage-b", out ulong b));
        Assert.Equal(12UL, b);
        Assert.True(placement.TryGetNodeAddress(13, out string? address));
        Assert.Equal("127.0.0.1:7003", address);
        PlacementGroupAssignment pg0 = placement.GetAssignment(0);
        Assert.Equal(new ulong[] { 11, 12, 13 }, pg0.Voters);
        Assert.Equal(new ulong[] { 11, 12, 13 }, pg0.Bootstrap);
        Assert.Equal(1UL, pg0.Epoch);
        Assert.Empty(placement.GetAssignment(1).Voters); // not placed yet

        Assert.False(placement.Apply(Map(version: 4, epoch: 9, members: ["storage-d"])));
        Assert.Equal(1UL, placement.GetAssignment(0).Epoch);
        Assert.Equal(1, changes);
    }

    [Fact]
    public void AHeartbeatCommandNewerThanTheMapWinsUntilANewerMap()
    {
        var placement = new MetaPlacementSource();
        placement.Apply(Map(version: 5, epoch: 1, members: ["storage-a", "storage-b", "storage-c"]));
        var command = new PgMembershipCommand { PgId = 0, TargetEpoch = 2 };
        command.MemberNodeIds.Add(["storage-b", "storage-c", "storage-d"]);
        Assert.True(placement.Apply(command));
        Assert.Equal(new ulong[] { 12, 13, 14 }, placement.GetAssignment(0).Voters);
        Assert.Equal(new ulong[] { 11, 12, 13 }, placement.GetAssignment(0).Bootstrap);
        Assert.False(placement.Apply(command)); // same epoch again: nothing to do

        // A newer map that still carries epoch 1 for the PG (it was cut before the change) keeps the command's.
        placement.Apply(Map(version: 6, epoch: 1, members: ["storage-a", "storage-b", "storage-c"]));
        Assert.Equal(2UL, placement.GetAssignment(0).Epoch);
        placement.Apply(Map(version: 7, epoch: 3, members: ["storage-a", "storage-c", "storage-d"]));
        Assert.Equal(new ulong[] { 11, 13, 14 }, placement.GetAssignment(0).Voters);

        var unknown = new PgMembershipCommand { PgId = 0, TargetEpoch = 4 };
        unknown.MemberNodeIds.Add(["storage-a", "storage-z"]);
        Assert.False(placement.Apply(unknown)); // a member the map does not know yet: wait for the map
    }

    private static ClusterMap Map(ulong version, ulong epoch, string[] members)
    {
        var map = new ClusterMap { Version = version, PgCount = 2 };
        string[] nodes = ["storage-a", "storage-b", "storage-c", "storage-d"];
        for (int i = 0; i < nodes.Length; i++)
        {
            var node = new Node { Id = nodes[i], RaftMemberId = 11UL + (ulong)i, GrpcAddress = $"127.0.0.1:700{i + 1}" };
            node.Roles.Add(NodeRole.Storage);
            map.Nodes.Add(node);
        }

        var pg = new PlacementGroup { Id = 0, Epoch = epoch };
        pg.MemberNodeIds.Add(members);
        pg.BootstrapMemberNodeIds.Add(["storage-a", "storage-b", "storage-c"]);
        map.PlacementGroups.Add(pg);
        map.PlacementGroups.Add(new PlacementGroup { Id = 1 });
        return map;
    }
}
