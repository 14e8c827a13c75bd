using Sds.Gateway.Cluster;
using Sds.Gateway.Scsi;

namespace Sds.Conformance.Tests.Cluster;

/// <summary>
/// The map-fed REPORT TARGET PORT GROUPS source (DESIGN.md §6): it reports the groups the map gives, sorted, with
/// the answering gateway's own group always active/optimized (it is answering, whatever meta last concluded), and
/// before any map it still reports the requester's own group so the path in use is never absent.
/// </summary>
public sealed class ClusterTargetPortGroupProviderTests
{
    private static ITNexus Nexus(ushort group, ushort port) => new("iqn.2026-11.io.sds:test-initiator", 1, "iqn.2026-11.io.sds:demo", port, port, group);

    [Fact]
    public void ReportsTheMapsGroupsWithTheRequestersOwnGroupActive()
    {
        var provider = new ClusterTargetPortGroupProvider();
        provider.Update([
            new TargetPortGroup(3, AsymmetricAccessState.Unavailable, [3]),
            new TargetPortGroup(1, AsymmetricAccessState.ActiveOptimized, [1]),
            new TargetPortGroup(2, AsymmetricAccessState.Unavailable, [2]),
        ]);
        IReadOnlyList<TargetPortGroup> groups = provider.GetTargetPortGroups(Nexus(2, 2));
        Assert.Equal([1, 2, 3], groups.Select(g => (int)g.Id));
        Assert.Equal(AsymmetricAccessState.ActiveOptimized, groups[0].State);
        Assert.Equal(AsymmetricAccessState.ActiveOptimized, groups[1].State); // the requester's own group
        Assert.Equal(AsymmetricAccessState.Unavailable, groups[2].State);
        Assert.Equal([3], groups[2].RelativeTargetPortIds.Select(p => (int)p));
    }

    [Fact]
    public void BeforeAnyMapTheRequestersGroupIsReported()
    {
        var provider = new ClusterTargetPortGroupProvider();
        IReadOnlyList<TargetPortGroup> groups = provider.GetTargetPortGroups(Nexus(7, 9));
        TargetPortGroup only = Assert.Single(groups);
        Assert.Equal(7, only.Id);
        Assert.Equal(AsymmetricAccessState.ActiveOptimized, only.State);
        Assert.Equal([9], only.RelativeTargetPortIds.Select(p => (int)p));
    }
}
