using System.Threading.Channels;
using Sds.Proto.V1;

namespace Sds.Meta.Watch;

/// <summary>
/// Fans cluster-map changes out to watchers (WatchClusterMap). The host thread publishes one delta per
/// version; a watcher starts from a full map or from the deltas after the version it knows, and then
/// receives every delta in order. A watcher that cannot keep up (its queue is full) is cut off and must
/// watch again from its last version: dropping a delta silently would leave a gateway with a wrong map.
/// </summary>
internal sealed class ClusterMapFeed
{
    /// <summary>Deltas kept for watchers that reconnect with a recent version.</summary>
    public const int HistoryMax = 1_024;

    /// <summary>Events queued per watcher before it is cut off.</summary>
    public const int WatcherQueueMax = 4_096;

    private readonly object gate = new();
    private readonly Queue<ClusterMapEvent> history = new();
    private readonly List<Channel<ClusterMapEvent>> watchers = [];

    /// <summary>Number of connected watchers.</summary>
    public int WatcherCount
    {
        get
        {
            lock (gate) return watchers.Count;
        }
    }

    /// <summary>Publishes the change that produced <paramref name="version"/> (host thread).</summary>
    public void Publish(ulong version, ClusterMapDelta delta)
    {
        Invariant.Assert(delta.BaseVersion + 1 == version, "a delta moves the map by one version");
        var mapEvent = new ClusterMapEvent { Version = version, Delta = delta };
        lock (gate)
        {
            if (history.Count == HistoryMax) history.Dequeue();
            history.Enqueue(mapEvent);
            Broadcast(mapEvent);
        }
    }

    /// <summary>The state was replaced by a snapshot: history no longer connects, so every watcher gets the full map.</summary>
    public void Reset(ClusterMap full)
    {
        var mapEvent = new ClusterMapEvent { Version = full.Version, Full = full };
        lock (gate)
        {
            history.Clear();
            Broadcast(mapEvent);
        }
    }

    /// <summary>
    /// Adds a watcher that holds <paramref name="knownVersion"/>. Must run on the host thread (no apply in
    /// between), so the first events and the later deltas connect without a gap.
    /// </summary>
    public ChannelReader<ClusterMapEvent> Subscribe(ulong knownVersion, ulong currentVersion, Func<ClusterMap> fullMap)
    {
        var channel = Channel.CreateBounded<ClusterMapEvent>(new BoundedChannelOptions(WatcherQueueMax) { SingleReader = true, SingleWriter = false });
        lock (gate)
        {
            bool canReplay = knownVersion != 0 && knownVersion <= currentVersion &&
                (knownVersion == currentVersion || (history.Count > 0 && history.Peek().Delta.BaseVersion <= knownVersion));
            if (canReplay)
            {
                foreach (ClusterMapEvent past in history)
                {
                    if (past.Version > knownVersion) channel.Writer.TryWrite(past);
                }
            }
            else
            {
                channel.Writer.TryWrite(new ClusterMapEvent { Version = currentVersion, Full = fullMap() });
            }

            watchers.Add(channel);
        }

        return channel.Reader;
    }

    /// <summary>Removes a watcher (its stream ended).</summary>
    public void Unsubscribe(ChannelReader<ClusterMapEvent> reader)
    {
        lock (gate)
        {
            watchers.RemoveAll(w => w.Reader == reader);
        }
    }

    private void Broadcast(ClusterMapEvent mapEvent)
    {
        for (int i = watchers.Count - 1; i >= 0; i--)
        {
            if (!watchers[i].Writer.TryWrite(mapEvent))
            {
                watchers[i].Writer.TryComplete(new ClusterMapWatcherLaggedException());
                watchers.RemoveAt(i);
            }
        }
    }
}
