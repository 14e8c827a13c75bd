using Sds.Proto.V1;
using Sds.Storage.Client;
using Sds.Storage.Placement;

namespace Sds.Storage.Tests.Replication;

/// <summary>
/// DESIGN.md §7: the gateway of <c>sds server</c> reaches its co-located storage node in process. The client's
/// placement names a port nothing listens on, so every operation below can only have gone in process — through
/// the same executor the <c>Storage.Io</c> stream uses (write, read, COMPARE AND WRITE exactly once).
/// </summary>
public sealed class LocalRoutingTests
{
    private static readonly Guid Volume = Guid.Parse("7f1e2d3c-4b5a-4697-8877-665544332211");

    [Fact]
    public async Task AnAttachedNodeIsReachedInProcess()
    {
        await using TestCluster cluster = await TestCluster.StartAsync(nodeCount: 1, pgs: 4, replicas: 1);
        await cluster.WaitForLeadersAsync(4);
        var unreachable = new StaticPlacementSource(new Dictionary<ulong, string> { [1] = "127.0.0.1:1" }, 4, 1);
        await using var client = new StorageClient(unreachable, new StorageClientOptions { RequestTimeout = TimeSpan.FromSeconds(10) });
        client.AttachLocal(cluster.Nodes[1]);

        byte[] data = new byte[8192];
        new Random(7).NextBytes(data);
        for (ulong chunk = 0; chunk < 8; chunk++)
        {
            Assert.Equal(IoStatusCode.Ok, (await client.WriteAsync(Volume, chunk, 4096, data)).Code);
            byte[] back = new byte[data.Length];
            Assert.Equal(IoStatusCode.Ok, (await client.ReadAsync(Volume, chunk, 4096, back)).Code);
            Assert.Equal(data, back);
        }

        byte[] next = new byte[8192];
        (IoStatus swap, bool ambiguous) = await client.CompareAndWriteCheckedAsync(Volume, 0, 4096, data, next);
        Assert.Equal(IoStatusCode.Ok, swap.Code);
        Assert.False(ambiguous);

        // Without the attachment the same client has no way to the node.
        await using var remote = new StorageClient(unreachable, new StorageClientOptions { RequestTimeout = TimeSpan.FromSeconds(1) });
        Assert.NotEqual(IoStatusCode.Ok, (await remote.WriteAsync(Volume, 0, 0, data)).Code);
    }
}
