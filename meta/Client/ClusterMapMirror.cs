using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sds.Meta.Host;
using Sds.Proto.V1;
using Sds.Rpc;

namespace Sds.Meta.Client;

/// <summary>
/// Where a mirror gets its events: a stream of <see cref="ClusterMapEvent"/>s starting after
/// <c>knownVersion</c> (a full map first when the source has no deltas from there). The stream ends or throws
/// when the source is lost; the mirror then asks again with the version it holds.
/// </summary>
public delegate IAsyncEnumerable<ClusterMapEvent> ClusterMapEventSource(ulong knownVersion, CancellationToken cancellationToken);

/// <summary>
/// A local, versioned copy of meta's cluster map (DESIGN.md §4, §6) kept by the <c>Cluster.WatchClusterMap</c>
/// stream: a full map, then deltas. Gateways, storage nodes and the all-in-one server read <see cref="Current"/>
/// (never mutated after it is published, so readers need no lock) and react to <see cref="Changed"/>.
/// <para>
/// A delta whose base is not the version held means events were missed; the mirror drops the stream and asks
/// for a full map. A lost stream (member down, partition, lagged watcher) is reopened on the next address with a
/// capped backoff, asking from the version held, so a reconnect costs only the missed deltas. The stream carries
/// no keep-alive, so a silent partition is not noticed here: whoever holds a lease on the map (gateways for
/// reservations) learns meta's version from its heartbeat and calls <see cref="Resync"/> when the mirror lags.
/// </para>
/// </summary>
public sealed class ClusterMapMirror : IAsyncDisposable
{
    private static readonly TimeSpan BackoffMin = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan BackoffMax = TimeSpan.FromSeconds(1);

    private readonly ClusterMapEventSource source;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly CancellationTokenSource stopping = new();
    private readonly object waitersLock = new();
    private readonly List<(ulong Version, TaskCompletionSource Done)> waiters = [];
    private CancellationTokenSource? streamCancel;
    private volatile ClusterMap current = new();
    private long lastEventTimestamp;
    private bool needFull;
    private Task? loop;

    /// <summary>Creates a mirror over <paramref name="source"/>; call <see cref="Start"/> to begin.</summary>
    public ClusterMapMirror(ClusterMapEventSource source, ILogger? logger = null, TimeProvider? time = null)
    {
        this.source = source;
        this.logger = logger ?? NullLogger.Instance;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>The map at the latest version received (version 0, empty, before the first event). Read-only by contract.</summary>
    public ClusterMap Current => current;

    /// <summary>Raised on the mirror's loop after each new version is published, with that map. Handlers must not block.</summary>
    public event Action<ClusterMap>? Changed;

    /// <summary>Time since the last event arrived (or the stream was opened), from the mirror's clock.</summary>
    public TimeSpan SinceLastEvent => time.GetElapsedTime(Interlocked.Read(ref lastEventTimestamp));

    /// <summary>
    /// A mirror of a remote meta group over gRPC; <paramref name="addresses"/> are meta members (host:port), tried in
    /// turn. <paramref name="nodeId"/> names the watcher in meta's logs and bookkeeping.
    /// </summary>
    public static ClusterMapMirror Remote(IEnumerable<string> addresses, string nodeId, ILogger? logger = null, TimeProvider? time = null)
    {
        var watch = new RemoteWatch(addresses.Select(static a => a.Trim()).Where(static a => a.Length > 0).Distinct().ToList(), nodeId);
        Invariant.Assert(watch.Addresses.Count > 0, "at least one meta address");
        var mirror = new ClusterMapMirror(watch.OpenAsync, logger, time);
        mirror.disposeWith = watch;
        return mirror;
    }

    /// <summary>A mirror of the meta member running in this process (the all-in-one server): no sockets.</summary>
    internal static ClusterMapMirror Local(MetaNode node, ILogger? logger = null, TimeProvider? time = null) =>
        new((known, cancellationToken) => LocalEventsAsync(node, known, cancellationToken), logger, time);

    private IDisposable? disposeWith;

    /// <summary>Starts following the source. Idempotent.</summary>
    public ClusterMapMirror Start()
    {
        lock (waitersLock)
        {
            loop ??= Task.Run(RunAsync);
        }

        return this;
    }

    /// <summary>Completes when the mirror holds <paramref name="version"/> or later.</summary>
    public Task WaitForVersionAsync(ulong version, CancellationToken cancellationToken)
    {
        Task done;
        lock (waitersLock)
        {
            if (current.Version >= version)
            {
                return Task.CompletedTask;
            }

            var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add((version, completion));
            done = completion.Task;
        }

        return done.WaitAsync(cancellationToken);
    }

    /// <summary>Drops the current stream and reopens it from the version held (the next address for a remote mirror).</summary>
    public void Resync()
    {
        try
        {
            Volatile.Read(ref streamCancel)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the stream ended meanwhile; the loop opens a new one anyway
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        stopping.Cancel();
        if (loop is not null)
        {
            try
            {
                await loop;
            }
            catch (OperationCanceledException)
            {
            }
        }

        lock (waitersLock)
        {
            foreach ((_, TaskCompletionSource done) in waiters) done.TrySetCanceled();
            waiters.Clear();
        }

        disposeWith?.Dispose();
        stopping.Dispose();
    }

    private async Task RunAsync()
    {
        TimeSpan backoff = BackoffMin;
        while (!stopping.IsCancellationRequested)
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
            Volatile.Write(ref streamCancel, cancel);
            Interlocked.Exchange(ref lastEventTimestamp, time.GetTimestamp());
            try
            {
                await foreach (ClusterMapEvent mapEvent in source(needFull ? 0 : current.Version, cancel.Token).WithCancellation(cancel.Token))
                {
                    Interlocked.Exchange(ref lastEventTimestamp, time.GetTimestamp());
                    if (!Absorb(mapEvent))
                    {
                        // Events were missed (a delta on another base): ask for a full map.
                        logger.LogWarning("cluster map delta on base {Base} does not follow version {Version}; asking for a full map", mapEvent.Delta.BaseVersion, current.Version);
                        needFull = true; // readers keep the held map until the full one arrives
                        break;
                    }

                    backoff = BackoffMin;
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                // stopping or Resync
            }
            catch (Exception exception) when (exception is RpcException or IOException or ChannelClosedException or InvalidOperationException)
            {
                logger.LogDebug("cluster map watch lost: {Message}", exception.Message);
            }
            finally
            {
                Volatile.Write(ref streamCancel, null);
            }

            if (stopping.IsCancellationRequested)
            {
                break;
            }

            try
            {
                await Task.Delay(backoff, time, stopping.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, BackoffMax.Ticks));
        }
    }

    /// <summary>Applies one event; false when it is a delta that does not follow the held version.</summary>
    private bool Absorb(ClusterMapEvent mapEvent)
    {
        ClusterMap next;
        if (mapEvent.Full is { } full)
        {
            needFull = false;
            next = full.Clone();
            next.Version = mapEvent.Version;
        }
        else if (mapEvent.Delta is { } delta)
        {
            if (delta.BaseVersion != current.Version)
            {
                return delta.BaseVersion < current.Version && mapEvent.Version <= current.Version; // a replay we already hold is harmless
            }

            next = current.Clone();
            next.Version = mapEvent.Version;
            Apply(next, delta);
        }
        else
        {
            return true;
        }

        Publish(next);
        return true;
    }

    private static void Apply(ClusterMap map, ClusterMapDelta delta)
    {
        Upsert(map.Nodes, delta.UpsertedNodes, static n => n.Id);
        RemoveAll(map.Nodes, delta.RemovedNodeIds, static n => n.Id);
        Upsert(map.Volumes, delta.UpsertedVolumes, static v => v.Id);
        RemoveAll(map.Volumes, delta.RemovedVolumeIds, static v => v.Id);
        Upsert(map.Targets, delta.UpsertedTargets, static t => t.Iqn);
        RemoveAll(map.Targets, delta.RemovedTargetIqns, static t => t.Iqn);
        Upsert(map.PlacementGroups, delta.UpsertedPlacementGroups, static g => g.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Upsert(map.Reservations, delta.UpsertedReservations, static r => r.VolumeId);
    }

    private static void Upsert<T>(Google.Protobuf.Collections.RepeatedField<T> items, IEnumerable<T> changed, Func<T, string> key)
        where T : Google.Protobuf.IMessage<T>
    {
        foreach (T item in changed)
        {
            string id = key(item);
            int index = -1;
            for (int i = 0; i < items.Count; i++)
            {
                if (key(items[i]) == id)
                {
                    index = i;
                    break;
                }
            }

            T copy = item.Clone();
            if (index >= 0)
            {
                items[index] = copy;
            }
            else
            {
                items.Add(copy);
            }
        }
    }

    private static void RemoveAll<T>(Google.Protobuf.Collections.RepeatedField<T> items, IEnumerable<string> removed, Func<T, string> key)
    {
        var gone = new HashSet<string>(removed, StringComparer.Ordinal);
        if (gone.Count == 0)
        {
            return;
        }

        for (int i = items.Count - 1; i >= 0; i--)
        {
            if (gone.Contains(key(items[i])))
            {
                items.RemoveAt(i);
            }
        }
    }

    private void Publish(ClusterMap next)
    {
        List<TaskCompletionSource>? reached = null;
        lock (waitersLock)
        {
            current = next;
            for (int i = waiters.Count - 1; i >= 0; i--)
            {
                if (waiters[i].Version <= next.Version)
                {
                    (reached ??= []).Add(waiters[i].Done);
                    waiters.RemoveAt(i);
                }
            }
        }

        if (reached is not null)
        {
            foreach (TaskCompletionSource done in reached) done.TrySetResult();
        }

        try
        {
            Changed?.Invoke(next);
        }
        catch (Exception exception)
        {
            // A subscriber's bug must not stop the mirror: everyone else still needs the map.
            logger.LogError(exception, "cluster map subscriber failed on version {Version}", next.Version);
        }
    }

    private static async IAsyncEnumerable<ClusterMapEvent> LocalEventsAsync(MetaNode node, ulong known, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        MetaResult<ChannelReader<ClusterMapEvent>> subscription = await node.QueryAsync(s => node.Feed.Subscribe(known, s.Version, s.ToClusterMap), cancellationToken);
        if (subscription.Status != MetaCallStatus.Ok)
        {
            throw new InvalidOperationException($"local meta member refused the watch: {subscription.Status}");
        }

        ChannelReader<ClusterMapEvent> events = subscription.Value!;
        try
        {
            while (await events.WaitToReadAsync(cancellationToken))
            {
                while (events.TryRead(out ClusterMapEvent? mapEvent))
                {
                    yield return mapEvent;
                }
            }
        }
        finally
        {
            node.Feed.Unsubscribe(events);
        }
    }

    /// <summary>The gRPC side of a remote mirror: one watch stream at a time, the next address after a failure.</summary>
    private sealed class RemoteWatch(List<string> addresses, string nodeId) : IDisposable
    {
        private readonly Dictionary<string, GrpcChannel> channels = new(StringComparer.Ordinal);
        private int next;

        public List<string> Addresses => addresses;

        public async IAsyncEnumerable<ClusterMapEvent> OpenAsync(ulong known, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            string address = addresses[next];
            next = (next + 1) % addresses.Count; // a failed or ended stream moves on; a good one stays open
            var client = new Cluster.ClusterClient(Channel(address));
            using AsyncServerStreamingCall<ClusterMapEvent> call = client.WatchClusterMap(
                new WatchClusterMapRequest { NodeId = nodeId, KnownVersion = known }, cancellationToken: cancellationToken);
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                yield return call.ResponseStream.Current;
            }
        }

        public void Dispose()
        {
            foreach (GrpcChannel channel in channels.Values) channel.Dispose();
            channels.Clear();
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
}
