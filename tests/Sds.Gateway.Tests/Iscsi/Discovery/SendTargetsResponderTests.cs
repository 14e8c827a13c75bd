using System.Net;
using Sds.Gateway.Block;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Iscsi.Discovery;
using Sds.Gateway.Iscsi.Login;
using Sds.Gateway.Scsi;

namespace Sds.Gateway.Tests.Iscsi.Discovery;

/// <summary>
/// Proves SendTargets (RFC 7143 §13.3, Appendix C): a discovery session sees every target it is
/// allowed, each with every portal as "address:port,tpgt"; a normal session sees only its own target.
/// </summary>
public class SendTargetsResponderTests
{
    private static TargetNode Target(string name, string[]? acl = null)
    {
        var device = new ScsiTargetDevice();
        device.AddLogicalUnit(0, new LogicalUnit(new MemoryBlockDevice(1 << 20), new LogicalUnitIdentity(Guid.NewGuid())));
        return new TargetNode(name, null, device, allowedInitiators: acl);
    }

    private static TargetCatalog Catalog()
    {
        var catalog = new TargetCatalog();
        catalog.AddTarget(Target("iqn.2026-11.io.sds:a"));
        catalog.AddTarget(Target("iqn.2026-11.io.sds:b", ["iqn.2026-11.io.sds:only-this-one"]));
        catalog.AddPortal(new Portal(new IPEndPoint(IPAddress.Loopback, 3260), 1, 1, 1));
        catalog.AddPortal(new Portal(new IPEndPoint(IPAddress.Parse("::1"), 3261), 2, 2, 1));
        return catalog;
    }

    private static List<string> Answer(string value, string initiator, TargetNode? sessionTarget, TargetCatalog catalog)
    {
        var response = new TextParameters();
        SendTargetsResponder.Answer(value, initiator, catalog, sessionTarget, response);
        var lines = new List<string>();
        foreach (KeyValuePair<string, string> pair in response.Pairs) lines.Add($"{pair.Key}={pair.Value}");
        return lines;
    }

    [Fact]
    public void DiscoveryAllListsAllowedTargetsWithEveryPortal()
    {
        TargetCatalog catalog = Catalog();
        Assert.Equal(
            ["TargetName=iqn.2026-11.io.sds:a", "TargetAddress=127.0.0.1:3260,1", "TargetAddress=[::1]:3261,2"],
            Answer("All", "iqn.2026-11.io.sds:someone", null, catalog));
        Assert.Equal(6, Answer("All", "iqn.2026-11.io.sds:only-this-one", null, catalog).Count);
    }

    [Fact]
    public void DiscoveryByNameAnswersThatTargetOnly()
    {
        TargetCatalog catalog = Catalog();
        Assert.Equal(3, Answer("IQN.2026-11.IO.SDS:A", "iqn.x", null, catalog).Count);
        Assert.Empty(Answer("iqn.2026-11.io.sds:missing", "iqn.x", null, catalog));
    }

    [Fact]
    public void NormalSessionSeesOnlyItsOwnTarget()
    {
        TargetCatalog catalog = Catalog();
        TargetNode own = catalog.Find("iqn.2026-11.io.sds:a")!;
        Assert.Equal(3, Answer("All", "iqn.x", own, catalog).Count);
        Assert.Equal(3, Answer("", "iqn.x", own, catalog).Count);
        Assert.Empty(Answer("iqn.2026-11.io.sds:b", "iqn.x", own, catalog));
    }
}
