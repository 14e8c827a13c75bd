using Grpc.Core;
using Sds.Meta.Api;
using Sds.Proto.V1;
using Sds.Rpc;

namespace Sds.Meta.Client;

/// <summary>
/// A management/cluster client for a meta group given as a list of addresses. It follows the routing rule of
/// <see cref="MetaApiEdge"/>: on UNAVAILABLE it goes to the leader named in the <c>sds-leader-address</c>
/// trailer, or else to the next address, with a short backoff, until <see cref="Timeout"/> runs out; every
/// attempt of one logical call carries the same <c>sds-request-id</c>, so a write whose first answer was lost
/// is applied once. Other statuses are the server's answer and are returned at once.
/// </summary>
internal sealed class MetaClient : IDisposable
{
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(5);
    private readonly List<string> addresses;
    private readonly Dictionary<string, GrpcChannel> channels = new(StringComparer.Ordinal);
    private readonly TimeProvider time;
    private int current;

    /// <summary>Creates a client over <paramref name="addresses"/> (host:port, or http:// URLs).</summary>
    public MetaClient(IEnumerable<string> addresses, TimeProvider? time = null)
    {
        this.addresses = addresses.Select(static a => a.Trim()).Where(static a => a.Length > 0).Distinct().ToList();
        Invariant.Assert(this.addresses.Count > 0, "at least one address");
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>How long one logical call may take across retries and failovers.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The address that answered last (the leader, after a write).</summary>
    public string CurrentAddress => addresses[current];

    /// <summary>Calls the Management service.</summary>
    public Task<T> ManagementAsync<T>(Func<Management.ManagementClient, Metadata, DateTime, CancellationToken, AsyncUnaryCall<T>> call, CancellationToken cancellationToken = default) =>
        InvokeAsync(channel => new Management.ManagementClient(channel), call, cancellationToken);

    /// <summary>Calls the Cluster service.</summary>
    public Task<T> ClusterAsync<T>(Func<Cluster.ClusterClient, Metadata, DateTime, CancellationToken, AsyncUnaryCall<T>> call, CancellationToken cancellationToken = default) =>
        InvokeAsync(channel => new Cluster.ClusterClient(channel), call, cancellationToken);

    /// <summary>Closes every channel.</summary>
    public void Dispose()
    {
        foreach (GrpcChannel channel in channels.Values) channel.Dispose();
        channels.Clear();
    }

    private async Task<T> InvokeAsync<TClient, T>(Func<GrpcChannel, TClient> makeClient, Func<TClient, Metadata, DateTime, CancellationToken, AsyncUnaryCall<T>> call, CancellationToken cancellationToken)
    {
        var headers = new Metadata { { MetaApiEdge.RequestIdHeader, Guid.NewGuid().ToString("N") } };
        long started = time.GetTimestamp();
        TimeSpan backoff = TimeSpan.FromMilliseconds(50);
        RpcException? last = null;
        bool followedHint = false;
        for (int attempt = 0; attempt < 10_000 && time.GetElapsedTime(started) < Timeout; attempt++)
        {
            string address = addresses[current];
            DateTime deadline = DateTime.UtcNow + AttemptTimeout;
            try
            {
                return await call(makeClient(Channel(address)), headers, deadline, cancellationToken).ResponseAsync;
            }
            catch (RpcException exception) when (exception.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && !cancellationToken.IsCancellationRequested)
            {
                last = exception;
                string? leader = exception.StatusCode == StatusCode.Unavailable ? exception.Trailers.GetValue(MetaApiEdge.LeaderAddressTrailer) : null;
                if (leader is not null && leader != address && !followedHint)
                {
                    // A named leader is worth trying at once, but only once in a row: after a leader dies the
                    // survivors keep naming it until they elect a new one, and that must not become a busy loop.
                    current = IndexOf(leader);
                    followedHint = true;
                    continue;
                }

                followedHint = false;
                current = (current + 1) % addresses.Count;
                await Task.Delay(backoff, time, cancellationToken);
                backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 400));
            }
        }

        throw last ?? new RpcException(new Status(StatusCode.Unavailable, "no meta member answered in time"));
    }

    private int IndexOf(string address)
    {
        int index = addresses.IndexOf(address);
        if (index >= 0)
        {
            return index;
        }

        addresses.Add(address);
        return addresses.Count - 1;
    }

    private GrpcChannel Channel(string address)
    {
        if (!channels.TryGetValue(address, out GrpcChannel? channel))
        {
            string url = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
            channel = GrpcChannel.ForAddress(url, new GrpcChannelOptions { ConnectTimeout = TimeSpan.FromSeconds(2) });
            channels.Add(address, channel);
        }

        return channel;
    }
}
