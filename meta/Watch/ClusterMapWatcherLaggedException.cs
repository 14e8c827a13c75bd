namespace Sds.Meta.Watch;

/// <summary>Ends a watcher's queue when it fell <see cref="ClusterMapFeed.WatcherQueueMax"/> events behind; the API edge turns it into ABORTED.</summary>
internal sealed class ClusterMapWatcherLaggedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ClusterMapWatcherLaggedException()
        : base("the watcher fell too far behind; watch again from the last version received")
    {
    }
}
