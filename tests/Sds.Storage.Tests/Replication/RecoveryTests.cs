using Sds.Proto.V1;
using Sds.Storage.Chunks;
using Sds.Storage.Client;
using Sds.Storage.Placement;

namespace Sds.Storage.Tests.Replication;

/// <summary>
/// Proves the recovery mechanisms that meta will trigger (DESIGN.md §5.5, §9), driven here through
/// <see cref="StaticPlacementSource.Reassign"/>: a replaced member is rebuilt as a learner from a snapshot of
/// the PG's chunks (the log having been compacted), promoted, and the old member removed; a corrupted block
/// is detected on read and by scrub and repaired from a healthy replica. Bounded in time.
/// </summary>
public sealed class RecoveryTests
{
    private static readonly Guid Volume = Guid.Parse("0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9");

    [Fact]
    public async Task ReplacedMemberIsRebuiltViaLearnerSnapshotAndPromotion()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(nodeCount: 4, pgs: 1, replicas: 3);
        await cluster.WaitForLeadersAsync(1);
        await using StorageClient client = cluster.NewClient();
        var acknowledged = await WriteChunkZeroAsync(client, 1, 120);
        ulong spare = await cluster.RebuildAFollowerFromSnapshotAsync(0);

        // Writes continue, and the rebuilt member holds every acknowledged block.
        foreach (var pair in await WriteChunkZeroAsync(client, 1000, 40))
        {
            acknowledged[pair.Key] = pair.Value;
        }

        await cluster.WaitForReplicasAppliedAsync(0);
        byte[] copy = new byte[VerifiableBlock.SizeBytes];
        foreach ((ulong offset, ulong sequence) in acknowledged)
        {
            ChunkReadResult read = cluster.Nodes[spare].Executor.ReadLocal(new ChunkKey(Volume, 0), (long)offset, copy, out _);
            Assert.Equal(ChunkStatus.Ok, read.Status);
            Assert.Equal((long)sequence, VerifiableBlock.Verify(copy, 0, offset));
        }
    }

    [Fact]
    public async Task CorruptBlockIsDetectedOnReadAndByScrubAndRepaired()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(nodeCount: 3, pgs: 1, replicas: 3);
        await cluster.WaitForLeadersAsync(1);
        await using StorageClient client = cluster.NewClient();
        var acknowledged = await WriteChunkZeroAsync(client, 1, 32);
        await cluster.WaitForReplicasAppliedAsync(0);
        ulong leader = cluster.LeaderOf(0);
        ulong follower = cluster.Nodes.Keys.First(id => id != leader);
        (ulong offset, ulong sequence) = acknowledged.First();

        // On the leader: flip bytes in the chunk file; the read still returns good data, repaired from a replica.
        FlipBytes(cluster, leader, offset);
        byte[] buffer = new byte[VerifiableBlock.SizeBytes];
        IoStatus status = await client.ReadAsync(Volume, 0, offset, buffer);
        Assert.Equal(IoStatusCode.Ok, status.Code);
        Assert.Equal((long)sequence, VerifiableBlock.Verify(buffer, 0, offset));
        Assert.True(cluster.Nodes[leader].Executor.BlocksRepaired >= 1, "the leader repaired its block");
        Assert.Equal(ChunkStatus.Ok, cluster.Nodes[leader].Executor.ReadLocal(new ChunkKey(Volume, 0), (long)offset, buffer, out _).Status);

        // On a follower: nobody reads there, so scrub finds it, and the follower repairs from the leader.
        FlipBytes(cluster, follower, offset);
        Assert.Equal(ChunkStatus.Corrupt, cluster.Nodes[follower].Executor.ReadLocal(new ChunkKey(Volume, 0), (long)offset, buffer, out _).Status);
        var report = await cluster.Nodes[leader].Scrubber.ScrubOnceAsync(CancellationToken.None);
        Assert.True(report.ChunksScrubbed >= 1);
        Assert.True(report.RemoteBlocksRepaired >= 1, $"scrub repaired the follower: {report}");
        Assert.Equal(0, report.MismatchedBlocks);
        Assert.Equal(ChunkStatus.Ok, cluster.Nodes[follower].Executor.ReadLocal(new ChunkKey(Volume, 0), (long)offset, buffer, out _).Status);
        Assert.Equal((long)sequence, VerifiableBlock.Verify(buffer, 0, offset));
    }

    [Fact]
    public async Task FullDiskFailsWritesWithNoSpaceAndLosesNothingAcknowledged()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(nodeCount: 1, pgs: 1, replicas: 1);
        await cluster.WaitForLeadersAsync(1);
        Dictionary<ulong, ulong> acknowledged;
        await using (StorageClient client = cluster.NewClient())
        {
            acknowledged = await WriteChunkZeroAsync(client, 1, 16);
        }

        // Restart with a free-space reserve larger than any disk: the Raft log is "full".
        await cluster.KillAsync(1);
        cluster.RaftLogReserveBytes = long.MaxValue / 4;
        await cluster.StartNodeAsync(1);
        await cluster.WaitForLeadersAsync(1);
        await using (StorageClient client = cluster.NewClient())
        {
            IoStatus status = await client.WriteAsync(Volume, 0, 0, VerifiableBlock.Create(999, 0, 0));
            Assert.Equal(IoStatusCode.NoSpace, status.Code);
            Assert.Contains("no space", status.Message, StringComparison.OrdinalIgnoreCase);
            byte[] buffer = new byte[VerifiableBlock.SizeBytes];
            foreach ((ulong offset, ulong sequence) in acknowledged)
            {
                Assert.Equal(IoStatusCode.Ok, (await client.ReadAsync(Volume, 0, offset, buffer)).Code);
                Assert.Equal((long)sequence, VerifiableBlock.Verify(buffer, 0, offset));
            }
        }
    }

    /// <summary>
    /// Issue #6 (a restarted replica held sequence 81 of a block acknowledged at 233): a snapshot message that Raft
    /// will not restore — here a duplicate, the leader having sent another while the first was being fetched —
    /// must not touch the replica's chunks. The data a fetch brings is the sender's as of its read, possibly older
    /// than what this replica applied (simulated by putting an older value of one block in the leader's store),
    /// and since Raft does not restore the snapshot no entry is applied again over it: before the fix the
    /// follower's block went back to the older value for good.
    /// </summary>
    [Fact]
    public async Task SnapshotThatRaftWillNotRestoreLeavesTheFollowersChunksAlone()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(nodeCount: 3, pgs: 1, replicas: 3);
        await cluster.WaitForLeadersAsync(1);
        await using StorageClient client = cluster.NewClient();
        const ulong offset = 0;
        Assert.Equal(IoStatusCode.Ok, (await client.WriteAsync(Volume, 0, offset, VerifiableBlock.Create(81, 0, offset))).Code);
        Assert.Equal(IoStatusCode.Ok, (await client.WriteAsync(Volume, 0, offset, VerifiableBlock.Create(233, 0, offset))).Code);
        await cluster.WaitForReplicasAppliedAsync(0);
        ulong leader = cluster.LeaderOf(0);
        ulong follower = cluster.Nodes.Keys.First(id => id != leader);
        StorageNode node = cluster.Nodes[follower];
        var key = new ChunkKey(Volume, 0);

        // The leader's copy as a fetch could have read it just before the leader applied sequence 233.
        Assert.Equal(ChunkStatus.Ok, cluster.Nodes[leader].Host.Store.Write(key, (long)offset, VerifiableBlock.Create(81, 0, offset)));

        // A snapshot message as the leader sends it (the PG's snapshot point: index 1, the bootstrap members).
        Sds.Storage.Replication.PgView view = cluster.Nodes[leader].Host.View(0)!;
        var snapshot = new Raft.Snapshot(new Raft.SnapshotMetadata(1, 1, new Raft.ConfState([.. cluster.Placement.GetAssignment(0).Bootstrap], [])), ReadOnlyMemory<byte>.Empty);
        var outcome = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        node.Host.SnapshotEvent += (pg, index, from, what) =>
        {
            if (!what.StartsWith("fetching", StringComparison.Ordinal))
            {
                outcome.TrySetResult(what);
            }
        };
        Assert.True(node.Host.Deliver(1, view.Epoch, new Raft.Message { Type = Raft.MessageType.Snapshot, From = leader, To = follower, Term = view.Term, Snapshot = snapshot }));
        string what = await outcome.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Console.WriteLine($"duplicate snapshot on member {follower}: {what}");

        byte[] copy = new byte[VerifiableBlock.SizeBytes];
        Assert.Equal(ChunkStatus.Ok, node.Executor.ReadLocal(key, (long)offset, copy, out _).Status);
        Assert.Equal(233, VerifiableBlock.Verify(copy, 0, offset));
        Assert.Equal(0, node.Fetcher.SnapshotsInstalled);
    }

    private static void FlipBytes(TestCluster cluster, ulong node, ulong offset)
    {
        string path = Path.Combine(cluster.DataDirectory(node), "chunks", Volume.ToString("N"), 0UL.ToString("x16") + ".chunk");
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        file.Position = (long)offset + 100;
        int b = file.ReadByte();
        file.Position = (long)offset + 100;
        file.WriteByte((byte)~b);
        file.Flush(flushToDisk: true);
    }

    private static async Task<Dictionary<ulong, ulong>> WriteChunkZeroAsync(StorageClient client, ulong first, int count)
    {
        var acknowledged = new Dictionary<ulong, ulong>();
        for (int i = 0; i < count; i++)
        {
            ulong sequence = first + (ulong)i;
            ulong offset = (sequence % 64) * VerifiableBlock.SizeBytes;
            IoStatus status = await client.WriteAsync(Volume, 0, offset, VerifiableBlock.Create(sequence, 0, offset));
            Assert.True(status.Code == IoStatusCode.Ok, status.ToString());
            acknowledged[offset] = sequence;
        }

        return acknowledged;
    }
}
