using System.Collections.Concurrent;
using Sds.Rpc;
using Sds.Storage.Placement;

namespace Sds.Storage.Service;

/// <summary>
/// gRPC clients of other storage nodes (repair reads, scrub, snapshot fetch), one channel per node address,
/// created on first use and kept for the node's lifetime.
/// </summary>
internal sealed class PeerClients : IDisposable
{
    private readonly IPlacementSource placement;
    private readonly ConcurrentDictionary<string, (GrpcChannel Channel, Proto.V1.Storage.StorageClient Client)> byAddress = new(StringComparer.Ordinal);

    public PeerClients(IPlacementSource placement) => this.placement = placement;

    /// <summary>The client of member <paramref name="memberId"/>, false when its address is unknown.</summary>
    public bool TryGet(ulong memberId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Proto.V1.Storage.StorageClient? client)
    {
        client = null;
        if (!placement.TryGetNodeAddress(memberId, out string? address))
        {
            return false;
        }

        client = byAddress.GetOrAdd(address, static a =>
        {
            GrpcChannel channel = GrpcChannel.ForAddress(a.Contains("://", StringComparison.Ordinal) ? a : "http://" + a, new GrpcChannelOptions
            {
                MaxReceiveMessageSize = 16 * 1024 * 1024,
                ConnectTimeout = TimeSpan.FromSeconds(1),
            });
            return (channel, new Proto.V1.Storage.StorageClient(channel));
        }).Client;
        return true;
    }

    public void Dispose()
    {
        foreach ((GrpcChannel channel, _) in byAddress.Values)
        {
            channel.Dispose();
        }

        byAddress.Clear();
    }
}
