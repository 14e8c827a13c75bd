using Sds.Meta.Membership;
using Sds.Proto.V1;

namespace Sds.Meta.Tests.Membership;

/// <summary>
/// The failure detector on virtual time: silence past the down timeout proposes DOWN, past the out timeout OUT,
/// a heartbeat brings a DOWN node back UP, silence counts from the leader's election (no mass DOWN after a
/// failover), and a verdict in flight is not proposed again on every check.
/// </summary>
public sealed class FailureDetectorTests
{
    private static readonly TimeSpan Down = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Out = TimeSpan.FromSeconds(60);

    [Fact]
    public void SilenceLeadsToDownThenOutAndAHeartbeatBringsItBack()
    {
        var time = new ManualTimeProvider();
        var detector = new FailureDetector(time, Down, Out);
        detector.BecameLeader();
        var node = new Node { Id = "storage-1", State = NodeState.Up };
        detector.Heard(node.Id);
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Empty(detector.Check([node]));

        time.Advance(TimeSpan.FromSeconds(2));
        SetNodeStateCommand down = Assert.Single(detector.Check([node]));
        Assert.Equal(NodeState.Down, down.State);
        Assert.Empty(detector.Check([node])); // in flight: not proposed again within a second
        node.State = NodeState.Down;

        time.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal(NodeState.Out, Assert.Single(detector.Check([node])).State);
        node.State = NodeState.Out;

        detector.Heard(node.Id);
        Assert.Equal(NodeState.Up, Assert.Single(detector.Check([node])).State);
    }

    [Fact]
    public void SilenceCountsFromTheElectionAndDrainingIsLeftAlone()
    {
        var time = new ManualTimeProvider();
        var detector = new FailureDetector(time, Down, Out);
        time.Advance(TimeSpan.FromMinutes(30)); // nothing heard for a long time, but we were not leader
        detector.BecameLeader();
        var up = new Node { Id = "storage-1", State = NodeState.Up };
        var draining = new Node { Id = "storage-2", State = NodeState.Draining };
        Assert.Empty(detector.Check([up, draining]));
        time.Advance(Down);
        Assert.Equal("storage-1", Assert.Single(detector.Check([up, draining])).NodeId);
    }
}
