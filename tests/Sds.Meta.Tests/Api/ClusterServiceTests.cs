using Grpc.Core;
using Sds.Proto.V1;

namespace Sds.Meta.Tests.Api;

/// <summary>
/// The cluster-internal API through real gRPC: a storage node registers and is placed in every PG (replicas 1),
/// heartbeats replicate usage and PG leadership into the map, an unknown node is told to register again, and
/// draining the only node keeps its copies (there is no replacement).
/// </summary>
public sealed class ClusterServiceTests : IClassFixture<SingleMemberFixture>
{
    private readonly SingleMemberFixture fixture;

    public ClusterServiceTests(SingleMemberFixture fixture) => this.fixture = fixture;

    [Fact]
    public async Task RegisterHeartbeatDrain()
    {
        var register = new RegisterNodeRequest { NodeId = "storage-a", GrpcAddress = "127.0.0.1:9", CapacityBytes = 100UL << 30 };
        register.Roles.Add(NodeRole.Storage);
        RegisterNodeResponse registered = await fixture.Client.ClusterAsync((c, h, d, t) => c.RegisterNodeAsync(register, h, d, t));
        Assert.Equal(NodeState.Up, registered.Node.State);
        Assert.True(registered.Node.RaftMemberId > 0);

        ClusterMap map = await fixture.MapAsync();
        Assert.All(map.PlacementGroups, pg => Assert.Equal(["storage-a"], pg.MemberNodeIds));
        var heartbeat = new HeartbeatRequest { NodeId = "storage-a", Sequence = 1, CapacityBytes = 100UL << 30, UsedBytes = 5UL << 30 };
        heartbeat.PgReports.Add(new PgReport { PgId = 0, Role = PgRole.Leader, Epoch = map.PlacementGroups[0].Epoch });
        HeartbeatResponse answer = await fixture.Client.ClusterAsync((c, h, d, t) => c.HeartbeatAsync(heartbeat, h, d, t));
        Assert.Equal(NodeState.Up, answer.State);
        Assert.False(answer.RegisterAgain);
        map = await fixture.MapAsync();
        Assert.Equal(5UL << 30, map.Nodes.Single(n => n.Id == "storage-a").UsedBytes);
        Assert.Equal("storage-a", map.PlacementGroups.Single(pg => pg.Id == 0).LeaderNodeId);

        HeartbeatResponse unknown = await fixture.Client.ClusterAsync((c, h, d, t) => c.HeartbeatAsync(new HeartbeatRequest { NodeId = "ghost" }, h, d, t));
        Assert.True(unknown.RegisterAgain);

        Node drained = await fixture.Client.ManagementAsync((c, h, d, t) => c.DrainNodeAsync(new DrainNodeRequest { NodeId = "storage-a" }, h, d, t));
        Assert.Equal(NodeState.Draining, drained.State);
        // The only storage node keeps its copies while draining: there is nowhere to move them (issue #6, never
        // below the replica count), so nothing changes and no epoch moves.
        ClusterMap after = await fixture.MapAsync();
        Assert.All(after.PlacementGroups, pg => Assert.Equal(["storage-a"], pg.MemberNodeIds));
        Assert.All(after.PlacementGroups, pg => Assert.Equal(map.PlacementGroups.Single(p => p.Id == pg.Id).Epoch, pg.Epoch));
        Node undrained = await fixture.Client.ManagementAsync((c, h, d, t) => c.UndrainNodeAsync(new UndrainNodeRequest { NodeId = "storage-a" }, h, d, t));
        Assert.Equal(NodeState.Up, undrained.State);
        RpcException notDraining = await Assert.ThrowsAsync<RpcException>(() =>
            fixture.Client.ManagementAsync((c, h, d, t) => c.UndrainNodeAsync(new UndrainNodeRequest { NodeId = "storage-a" }, h, d, t)));
        Assert.Equal(StatusCode.FailedPrecondition, notDraining.StatusCode);
    }
}
