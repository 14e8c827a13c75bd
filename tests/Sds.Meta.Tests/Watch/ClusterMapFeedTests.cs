using System.Threading.Channels;
using Sds.Meta.Watch;
using Sds.Proto.V1;

namespace Sds.Meta.Tests.Watch;

/// <summary>
/// The watch feed connects without gaps: a watcher with a recent version gets exactly the deltas after it, one
/// with an unknown or too old version gets a full map first, every later delta follows in order, and a watcher
/// that stops reading is cut off (ABORTED at the edge) instead of silently missing a delta.
/// </summary>
public sealed class ClusterMapFeedTests
{
    [Fact]
    public void RecentVersionReplaysDeltasAndUnknownVersionStartsWithFullMap()
    {
        var feed = new ClusterMapFeed();
        for (ulong v = 1; v <= 5; v++) feed.Publish(v, new ClusterMapDelta { BaseVersion = v - 1 });
        ChannelReader<ClusterMapEvent> recent = feed.Subscribe(3, 5, () => new ClusterMap { Version = 5 });
        Assert.Equal([4UL, 5UL], Drain(recent).Select(e => e.Version));
        ChannelReader<ClusterMapEvent> fresh = feed.Subscribe(0, 5, () => new ClusterMap { Version = 5 });
        ClusterMapEvent first = Assert.Single(Drain(fresh));
        Assert.NotNull(first.Full);

        feed.Publish(6, new ClusterMapDelta { BaseVersion = 5 });
        Assert.Equal(6UL, Assert.Single(Drain(recent)).Version);
        Assert.Equal(5UL, Assert.Single(Drain(fresh)).Delta.BaseVersion);
    }

    [Fact]
    public void SlowWatcherIsCutOff()
    {
        var feed = new ClusterMapFeed();
        ChannelReader<ClusterMapEvent> slow = feed.Subscribe(0, 0, () => new ClusterMap());
        for (ulong v = 1; v <= ClusterMapFeed.WatcherQueueMax + 1; v++) feed.Publish(v, new ClusterMapDelta { BaseVersion = v - 1 });
        Assert.Equal(0, feed.WatcherCount);
        Assert.Equal(ClusterMapFeed.WatcherQueueMax, Drain(slow).Count); // what was queued is still delivered…
        Assert.True(slow.Completion.IsFaulted); // …then the stream ends with the reason, never with a gap
        Assert.IsType<ClusterMapWatcherLaggedException>(slow.Completion.Exception!.InnerException);
    }

    private static List<ClusterMapEvent> Drain(ChannelReader<ClusterMapEvent> reader)
    {
        var events = new List<ClusterMapEvent>();
        while (reader.TryRead(out ClusterMapEvent? mapEvent)) events.Add(mapEvent);
        return events;
    }
}
