using Grpc.Core;
using Sds.Proto.V1;

namespace Sds.Meta.Tests.Api;

/// <summary>
/// Validation through the real gRPC API with our client: each bad request ends with the documented status
/// and a one-line human message, and the cluster map (version and content) is unchanged afterwards.
/// </summary>
public sealed class ManagementValidationTests : IClassFixture<SingleMemberFixture>
{
    private const string T1 = SingleMemberFixture.TargetIqn;
    private readonly SingleMemberFixture fixture;

    public ManagementValidationTests(SingleMemberFixture fixture) => this.fixture = fixture;

    [Theory]
    [InlineData("volume-empty-name", StatusCode.InvalidArgument, "volume name is empty")]
    [InlineData("volume-bad-name", StatusCode.InvalidArgument, "invalid volume name")]
    [InlineData("volume-zero-size", StatusCode.InvalidArgument, "size is zero")]
    [InlineData("volume-unaligned-size", StatusCode.InvalidArgument, "not a multiple of the 4096-byte")]
    [InlineData("volume-too-big", StatusCode.InvalidArgument, "exceeds the limit")]
    [InlineData("volume-bad-block-size", StatusCode.InvalidArgument, "use 512 or 4096")]
    [InlineData("volume-bad-replicas", StatusCode.InvalidArgument, "replicas 9 is out of range")]
    [InlineData("volume-duplicate", StatusCode.AlreadyExists, "already exists")]
    [InlineData("volume-shrink-mapped", StatusCode.FailedPrecondition, "cannot shrink")]
    [InlineData("volume-resize-missing", StatusCode.NotFound, "does not exist")]
    [InlineData("volume-delete-mapped", StatusCode.FailedPrecondition, "is mapped as LUN 0")]
    [InlineData("volume-get-missing", StatusCode.NotFound, "does not exist")]
    [InlineData("target-bad-iqn", StatusCode.InvalidArgument, "invalid target IQN")]
    [InlineData("target-duplicate-iqn", StatusCode.AlreadyExists, "already exists")]
    [InlineData("target-duplicate-iqn-case", StatusCode.AlreadyExists, "already exists")]
    [InlineData("lun-missing-volume", StatusCode.NotFound, "volume 'nope' does not exist")]
    [InlineData("lun-missing-target", StatusCode.NotFound, "does not exist")]
    [InlineData("lun-taken", StatusCode.AlreadyExists, "already mapped")]
    [InlineData("lun-out-of-range", StatusCode.InvalidArgument, "out of range")]
    [InlineData("unmap-missing", StatusCode.NotFound, "is not mapped")]
    [InlineData("acl-bad-initiator", StatusCode.InvalidArgument, "invalid initiator IQN")]
    [InlineData("acl-remove-missing", StatusCode.NotFound, "is not on the ACL")]
    [InlineData("chap-short-secret", StatusCode.InvalidArgument, "11 bytes; it must be 12 to 16")]
    [InlineData("chap-long-secret", StatusCode.InvalidArgument, "17 bytes; it must be 12 to 16")]
    [InlineData("chap-mutual-same-secret", StatusCode.InvalidArgument, "must differ")]
    [InlineData("chap-mutual-without-oneway", StatusCode.InvalidArgument, "needs one-way CHAP")]
    [InlineData("node-drain-missing", StatusCode.NotFound, "does not exist")]
    public async Task BadRequestIsRefusedAndStateIsUnchanged(string scenario, StatusCode code, string messageFragment)
    {
        ClusterMap before = await fixture.MapAsync();
        RpcException refused = await Assert.ThrowsAsync<RpcException>(() => Call(scenario));
        Assert.Equal(code, refused.StatusCode);
        Assert.Contains(messageFragment, refused.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Status.Detail);
        ClusterMap after = await fixture.MapAsync();
        before.MetaLeaderNodeId = after.MetaLeaderNodeId;
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task SecretsAreWriteOnlyAndGoodChapIsAccepted()
    {
        var chap = new ChapConfig
        {
            Initiator = new ChapSecret { User = "alice", Secret = "0123456789ab" },
            Target = new ChapSecret { User = "target", Secret = "ba9876543210XYZW" },
        };
        Target target = await fixture.Client.ManagementAsync((c, h, d, t) => c.SetChapAsync(new SetChapRequest { TargetIqn = T1, Chap = chap }, h, d, t));
        Assert.Equal("alice", target.Chap.Initiator.User);
        Assert.Empty(target.Chap.Initiator.Secret);
        Assert.Empty(target.Chap.Target.Secret);
        ClusterMap map = await fixture.MapAsync();
        Assert.Equal("0123456789ab", map.Targets.Single(t => t.Iqn == T1).Chap.Initiator.Secret); // gateways need it
        await fixture.Client.ManagementAsync((c, h, d, t) => c.SetChapAsync(new SetChapRequest { TargetIqn = T1 }, h, d, t));
    }

    [Fact]
    public async Task RetriedCreateWithSameRequestIdReturnsTheFirstVolume()
    {
        var request = new CreateVolumeRequest { Name = "idem", SizeBytes = 1 << 20, RequestId = "idem-request-1" };
        Volume first = await fixture.Client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(request, h, d, t));
        Volume second = await fixture.Client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(request, h, d, t));
        Assert.Equal(first, second);
        await fixture.Client.ManagementAsync((c, h, d, t) => c.DeleteVolumeAsync(new DeleteVolumeRequest { Volume = "idem" }, h, d, t));
    }

    [Fact]
    public async Task WatchDeliversVersionedDeltas()
    {
        using var channel = Sds.Rpc.GrpcChannel.ForAddress("http://" + fixture.Address);
        var cluster = new Cluster.ClusterClient(channel);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using AsyncServerStreamingCall<ClusterMapEvent> watch = cluster.WatchClusterMap(new WatchClusterMapRequest { NodeId = "test" }, cancellationToken: cancel.Token);
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        ClusterMapEvent first = watch.ResponseStream.Current;
        Assert.NotNull(first.Full);
        await fixture.Client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "watched", SizeBytes = 1 << 20 }, h, d, t));
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        ClusterMapEvent next = watch.ResponseStream.Current;
        Assert.Equal(first.Version + 1, next.Version);
        Assert.Equal(first.Version, next.Delta.BaseVersion);
        Assert.Equal("watched", next.Delta.UpsertedVolumes.Single().Name);
        await fixture.Client.ManagementAsync((c, h, d, t) => c.DeleteVolumeAsync(new DeleteVolumeRequest { Volume = "watched" }, h, d, t));
    }

    private Task Call(string scenario)
    {
        var client = fixture.Client;
        ChapConfig Chap(string secret, string? mutual = null) => new()
        {
            Initiator = new ChapSecret { User = "user", Secret = secret },
            Target = mutual is null ? null : new ChapSecret { User = "target", Secret = mutual },
        };
        return scenario switch
        {
            "volume-empty-name" => client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "", SizeBytes = 1 << 20 }, h, d, t)),
            "volume-bad-name" => client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "Has Space", SizeBytes = 1 << 20 }, h, d, t)),
            "volume-zero-size" => client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "v", SizeBytes = 0 }, h, d, t)),
            "volume-unaligned-size" => client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "v", SizeBytes = 8192 + 512, LogicalBlockSizeBytes = 4096 }, h, d, t)),
            "volume-too-big" => client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "v", SizeBytes = 1UL << 50 }, h, d, t)),
            "volume-bad-block-size" => client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "v", SizeBytes = 1 << 20, LogicalBlockSizeBytes = 1024 }, h, d, t)),
            "volume-bad-replicas" => client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "v", SizeBytes = 1 << 20, Replicas = 9 }, h, d, t)),
            "volume-duplicate" => client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "db1", SizeBytes = 1 << 20 }, h, d, t)),
            "volume-shrink-mapped" => client.ManagementAsync((c, h, d, t) => c.ResizeVolumeAsync(new ResizeVolumeRequest { Volume = "db1", NewSizeBytes = 1 << 20 }, h, d, t)),
            "volume-resize-missing" => client.ManagementAsync((c, h, d, t) => c.ResizeVolumeAsync(new ResizeVolumeRequest { Volume = "nope", NewSizeBytes = 1 << 30 }, h, d, t)),
            "volume-delete-mapped" => client.ManagementAsync((c, h, d, t) => c.DeleteVolumeAsync(new DeleteVolumeRequest { Volume = "db1" }, h, d, t)),
            "volume-get-missing" => client.ManagementAsync((c, h, d, t) => c.GetVolumeAsync(new GetVolumeRequest { Volume = "nope" }, h, d, t)),
            "target-bad-iqn" => client.ManagementAsync((c, h, d, t) => c.CreateTargetAsync(new CreateTargetRequest { Target = new Target { Iqn = "iqn.2026-13.x" } }, h, d, t)),
            "target-duplicate-iqn" => client.ManagementAsync((c, h, d, t) => c.CreateTargetAsync(new CreateTargetRequest { Target = new Target { Iqn = T1 } }, h, d, t)),
            "target-duplicate-iqn-case" => client.ManagementAsync((c, h, d, t) => c.CreateTargetAsync(new CreateTargetRequest { Target = new Target { Iqn = T1.ToUpperInvariant() } }, h, d, t)),
            "lun-missing-volume" => client.ManagementAsync((c, h, d, t) => c.MapLunAsync(new MapLunRequest { TargetIqn = T1, Lun = 1, Volume = "nope" }, h, d, t)),
            "lun-missing-target" => client.ManagementAsync((c, h, d, t) => c.MapLunAsync(new MapLunRequest { TargetIqn = "iqn.2026-11.io.sds:none", Lun = 1, Volume = "db1" }, h, d, t)),
            "lun-taken" => client.ManagementAsync((c, h, d, t) => c.MapLunAsync(new MapLunRequest { TargetIqn = T1, Lun = 0, Volume = "db1" }, h, d, t)),
            "lun-out-of-range" => client.ManagementAsync((c, h, d, t) => c.MapLunAsync(new MapLunRequest { TargetIqn = T1, Lun = 16384, Volume = "db1" }, h, d, t)),
            "unmap-missing" => client.ManagementAsync((c, h, d, t) => c.UnmapLunAsync(new UnmapLunRequest { TargetIqn = T1, Lun = 9 }, h, d, t)),
            "acl-bad-initiator" => client.ManagementAsync((c, h, d, t) => c.AddInitiatorAsync(new AddInitiatorRequest { TargetIqn = T1, InitiatorIqn = "host1" }, h, d, t)),
            "acl-remove-missing" => client.ManagementAsync((c, h, d, t) => c.RemoveInitiatorAsync(new RemoveInitiatorRequest { TargetIqn = T1, InitiatorIqn = "iqn.2026-11.io.host:h1" }, h, d, t)),
            "chap-short-secret" => client.ManagementAsync((c, h, d, t) => c.SetChapAsync(new SetChapRequest { TargetIqn = T1, Chap = Chap("0123456789a") }, h, d, t)),
            "chap-long-secret" => client.ManagementAsync((c, h, d, t) => c.SetChapAsync(new SetChapRequest { TargetIqn = T1, Chap = Chap("0123456789abcdefg") }, h, d, t)),
            "chap-mutual-same-secret" => client.ManagementAsync((c, h, d, t) => c.SetChapAsync(new SetChapRequest { TargetIqn = T1, Chap = Chap("0123456789ab", "0123456789ab") }, h, d, t)),
            "chap-mutual-without-oneway" => client.ManagementAsync((c, h, d, t) => c.SetChapAsync(new SetChapRequest { TargetIqn = T1, Chap = new ChapConfig { Target = new ChapSecret { User = "t", Secret = "0123456789ab" } } }, h, d, t)),
            "node-drain-missing" => client.ManagementAsync((c, h, d, t) => c.DrainNodeAsync(new DrainNodeRequest { NodeId = "ghost" }, h, d, t)),
            _ => throw new ArgumentOutOfRangeException(nameof(scenario)),
        };
    }
}
