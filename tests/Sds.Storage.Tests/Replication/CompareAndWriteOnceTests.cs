using Google.Protobuf;
using Sds.Proto.V1;
using Sds.Rpc;
using Sds.Storage.Chunks;
using Sds.Storage.Client;

namespace Sds.Storage.Tests.Replication;

/// <summary>
/// COMPARE AND WRITE is applied once per request id (issue #7): a retry whose first attempt was applied (its answer
/// lost) is answered with the first outcome and does not compare again — also when another initiator restored the
/// compared data in between, where comparing again would swap a second time and undo that initiator's write.
/// The retry is sent as a gateway's storage client sends it: the same request, the same 16-byte id.
/// </summary>
public sealed class CompareAndWriteOnceTests
{
    private static readonly Guid Volume = Guid.Parse("5d0c1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f");
    private const int Block = 4096;

    [Fact]
    public async Task RetryWithTheSameRequestIdGetsTheFirstOutcomeAndSwapsNothingOnAnyReplica()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(nodeCount: 3, pgs: 1, replicas: 3);
        await cluster.WaitForLeadersAsync(1);
        await using StorageClient client = cluster.NewClient();
        byte[] a = Filled(0xA1);
        byte[] b = Filled(0xB2);
        byte[] c = Filled(0xC3);
        Assert.Equal(IoStatusCode.Ok, (await client.WriteAsync(Volume, 0, 0, a)).Code);

        // Sent to whichever replica leads now, again on NOT_LEADER/BUSY with the same request (as the gateway retries):
        // under load the leadership may move mid-test.
        var leader = new LeaderCaller(cluster);
        ByteString id = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());
        CompareAndWriteRequest swap = Request(a, b, id);

        CompareAndWriteResponse first = await leader.CallAsync(swap, deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(IoStatusCode.Ok, first.Status.Code);
        Assert.True(first.ExactlyOnce);

        // Another initiator writes the compared data back; then the retry of the first command arrives.
        Assert.Equal(IoStatusCode.Ok, (await client.WriteAsync(Volume, 0, 0, a)).Code);
        CompareAndWriteResponse retry = await leader.CallAsync(swap, deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(IoStatusCode.Ok, retry.Status.Code);
        Assert.True(retry.ExactlyOnce);

        // A retry of a command that miscompared stays a miscompare, with its offset, though the data now matches.
        ByteString missId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());
        CompareAndWriteResponse miss = await leader.CallAsync(Request(c, b, missId), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(IoStatusCode.Miscompare, miss.Status.Code);
        Assert.Equal(IoStatusCode.Ok, (await client.WriteAsync(Volume, 0, 0, c)).Code);
        CompareAndWriteResponse missRetry = await leader.CallAsync(Request(c, b, missId), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(IoStatusCode.Miscompare, missRetry.Status.Code);
        Assert.Equal(miss.Status.MiscompareOffsetBytes, missRetry.Status.MiscompareOffsetBytes);

        // Every replica applied the same log the same way: the block holds the other initiator's C everywhere.
        await cluster.WaitForReplicasAppliedAsync(0);
        foreach (StorageNode node in cluster.Nodes.Values)
        {
            byte[] copy = new byte[Block];
            Assert.Equal(ChunkStatus.Ok, node.Executor.ReadLocal(new ChunkKey(Volume, 0), 0, copy, out _).Status);
            Assert.Equal(c, copy);
        }

        // A new id compares afresh.
        CompareAndWriteResponse fresh = await leader.CallAsync(Request(c, b, ByteString.CopyFrom(Guid.NewGuid().ToByteArray())), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(IoStatusCode.Ok, fresh.Status.Code);

        // A malformed id is refused, not applied.
        CompareAndWriteResponse bad = await leader.CallAsync(Request(b, a, ByteString.CopyFrom([1, 2, 3])), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(IoStatusCode.Invalid, bad.Status.Code);
    }

    /// <summary>The applied ids are persisted with the applied index, so a restart does not forget them.</summary>
    [Fact]
    public async Task AppliedRequestIdsSurviveARestart()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(nodeCount: 1, pgs: 1, replicas: 1);
        await cluster.WaitForLeadersAsync(1);
        byte[] a = Filled(0x5A);
        byte[] b = Filled(0x6B);
        ByteString id = ByteString.CopyFrom(Guid.NewGuid().ToByteArray());
        await using (StorageClient client = cluster.NewClient())
        {
            Assert.Equal(IoStatusCode.Ok, (await client.WriteAsync(Volume, 0, 0, a)).Code);
            using GrpcChannel channel = GrpcChannel.ForAddress("http://" + cluster.Nodes[1].Address);
            CompareAndWriteResponse first = await new Proto.V1.Storage.StorageClient(channel).CompareAndWriteAsync(Request(a, b, id), deadline: DateTime.UtcNow.AddSeconds(20));
            Assert.Equal(IoStatusCode.Ok, first.Status.Code);
            Assert.Equal(IoStatusCode.Ok, (await client.WriteAsync(Volume, 0, 0, a)).Code);
        }

        // Flush: the applied index (with the ids up to it) becomes durable, the log before it is compacted.
        await cluster.Nodes[1].Host.CompactNowAsync(0);
        await cluster.KillAsync(1);
        await cluster.StartNodeAsync(1);
        await cluster.WaitForLeadersAsync(1);

        using GrpcChannel again = GrpcChannel.ForAddress("http://" + cluster.Nodes[1].Address);
        CompareAndWriteResponse retry = await new Proto.V1.Storage.StorageClient(again).CompareAndWriteAsync(Request(a, b, id), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(IoStatusCode.Ok, retry.Status.Code);
        Assert.True(retry.ExactlyOnce);
        byte[] copy = new byte[Block];
        Assert.Equal(ChunkStatus.Ok, cluster.Nodes[1].Executor.ReadLocal(new ChunkKey(Volume, 0), 0, copy, out _).Status);
        Assert.Equal(a, copy);
    }

    /// <summary>
    /// A member rebuilt from a snapshot never applied the COMPARE AND WRITE's log entry (compacted away); the ids
    /// travel in the Raft snapshot, so it still knows them and a retry it answers as leader is exactly once.
    /// </summary>
    [Fact]
    public async Task AMemberRebuiltFromASnapshotRemembersTheAppliedRequestIds()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(nodeCount: 4, pgs: 1, replicas: 3);
        await cluster.WaitForLeadersAsync(1);
        await using StorageClient client = cluster.NewClient();
        byte[] a = Filled(0x1A);
        byte[] b = Filled(0x2B);
        Assert.Equal(IoStatusCode.Ok, (await client.WriteAsync(Volume, 0, 0, a)).Code);
        var leader = new LeaderCaller(cluster);
        CompareAndWriteRequest swap = Request(a, b, ByteString.CopyFrom(Guid.NewGuid().ToByteArray()));
        Assert.Equal(IoStatusCode.Ok, (await leader.CallAsync(swap, DateTime.UtcNow.AddSeconds(20))).Status.Code);
        await cluster.WaitForReplicasAppliedAsync(0);

        // The new member never applies the CAW's entry: every log is compacted, it catches up from a snapshot.
        ulong spare = await cluster.RebuildAFollowerFromSnapshotAsync(0);
        Assert.True(await TestCluster.WaitUntilAsync(() => cluster.Nodes[spare].Host.View(0) is { RememberedRequests: >= 1 }, TimeSpan.FromSeconds(10)),
            $"the rebuilt member remembers the request id (it holds {cluster.Nodes[spare].Host.View(0)?.RememberedRequests})");

        // Another initiator writes the compared data back; the retry is still answered with its first outcome.
        Assert.Equal(IoStatusCode.Ok, (await client.WriteAsync(Volume, 0, 0, a)).Code);
        CompareAndWriteResponse retry = await leader.CallAsync(swap, DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(IoStatusCode.Ok, retry.Status.Code);
        Assert.True(retry.ExactlyOnce);
    }

    private sealed class LeaderCaller(TestCluster cluster)
    {
        public async Task<CompareAndWriteResponse> CallAsync(CompareAndWriteRequest request, DateTime deadline)
        {
            while (true)
            {
                ulong leaderId = cluster.LeaderOf(0);
                if (leaderId != 0)
                {
                    using GrpcChannel channel = GrpcChannel.ForAddress("http://" + cluster.Nodes[leaderId].Address);
                    CompareAndWriteResponse response = await new Proto.V1.Storage.StorageClient(channel).CompareAndWriteAsync(request, deadline: deadline);
                    if (response.Status.Code is not (IoStatusCode.NotLeader or IoStatusCode.Busy) || DateTime.UtcNow >= deadline) return response;
                }

                Assert.True(DateTime.UtcNow < deadline, "no PG leader answered before the deadline");
                await Task.Delay(50);
            }
        }
    }

    private static CompareAndWriteRequest Request(byte[] compare, byte[] write, ByteString id) => new()
    {
        Target = new IoTarget { VolumeId = Volume.ToString(), ChunkIndex = 0, PgId = 0 },
        OffsetBytes = 0,
        CompareData = ByteString.CopyFrom(compare),
        WriteData = ByteString.CopyFrom(write),
        RequestId = id,
    };

    private static byte[] Filled(byte value)
    {
        byte[] block = new byte[Block];
        block.AsSpan().Fill(value);
        return block;
    }
}
