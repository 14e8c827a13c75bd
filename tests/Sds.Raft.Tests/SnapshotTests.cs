using Sds.Raft.Tests.Support;

namespace Sds.Raft.Tests;

/// <summary>
/// Log compaction and InstallSnapshot (Raft §7): a follower that fell behind the leader's compacted log is
/// sent the snapshot, installs it through its Ready, and continues from there.
/// </summary>
public sealed class SnapshotTests
{
    [Fact]
    public void LaggingFollowerInstallsTheLeadersSnapshotAndCatchesUp()
    {
        TestCluster cluster = new(3);
        TestMember leader = cluster.Elect(1);
        cluster.Isolate(3);
        for (int i = 0; i < 10; i++)
        {
            cluster.Propose(1, $"v{i}");
        }

        // The leader snapshots at its applied index and compacts everything the follower would need.
        ulong applied = leader.Node.Applied;
        Assert.Equal(StorageStatus.Ok, leader.Storage.CreateSnapshot(applied, leader.Node.ConfState, new byte[] { 42 }, out _));
        Assert.Equal(StorageStatus.Ok, leader.Storage.Compact(applied));

        cluster.Heal();
        cluster.TickAll(2);
        TestMember follower = cluster[3];
        Assert.NotNull(follower.AppliedSnapshot);
        Assert.Equal(applied, follower.AppliedSnapshot!.Metadata.Index);
        Assert.Equal(new byte[] { 42 }, follower.AppliedSnapshot.Data.ToArray());

        // The snapshot is never reported as delivered here, so the leader waits in Snapshot state until the
        // follower's append response shows it caught up; then it replicates normally.
        leader.Node.ReportSnapshot(3, failed: false);
        cluster.Propose(1, "after");
        cluster.TickAll(2);
        Assert.Equal(leader.Node.LastIndex, follower.Node.LastIndex);
        Assert.Equal("after", TestCluster.Text(follower.Applied.Last()));
        Assert.Equal(ProgressState.Replicate, leader.Raft.Tracker.Progress[3].State);
    }

    [Fact]
    public void SnapshotOlderThanTheCommitIndexIsIgnored()
    {
        TestCluster cluster = new(3);
        cluster.Elect(1);
        cluster.Propose(1, "x");
        TestMember follower = cluster[2];
        ulong committed = follower.Node.Committed;
        Snapshot old = new(new SnapshotMetadata(1, 1, new ConfState([1, 2, 3], [])), new byte[] { 1 });
        follower.Node.Step(new Message { Type = MessageType.Snapshot, From = 1, To = 2, Term = follower.Node.Term, Snapshot = old });
        List<Message> sent = follower.Drain();
        Assert.Null(follower.AppliedSnapshot);
        Assert.Equal(committed, sent.Single(m => m.Type == MessageType.AppendResponse).Index);
    }

    [Fact]
    public void RestartFromACompactedLogStartsAtTheSnapshot()
    {
        TestCluster cluster = new(3);
        TestMember leader = cluster.Elect(1);
        for (int i = 0; i < 5; i++)
        {
            cluster.Propose(1, $"v{i}");
        }

        TestMember follower = cluster[2];
        ulong applied = follower.Node.Applied;
        follower.Storage.CreateSnapshot(applied, follower.Node.ConfState, new byte[] { 7 }, out _);
        follower.Storage.Compact(applied - 1);
        cluster.Restart(2);
        Assert.Equal(applied, cluster[2].Node.Applied);
        Assert.Equal(applied, cluster[2].Node.Committed);
        cluster.Propose(1, "next");
        cluster.TickAll(1);
        Assert.Equal(leader.Node.LastIndex, cluster[2].Node.LastIndex);
    }
}
