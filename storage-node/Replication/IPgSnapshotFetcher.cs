namespace Sds.Storage.Replication;

/// <summary>Copies a PG's chunk data from a member (the leader) into the local chunk store and flushes it.</summary>
internal interface IPgSnapshotFetcher
{
    /// <summary>True when every chunk of the PG was stored and flushed.</summary>
    Task<bool> FetchAsync(uint pgId, ulong fromMember, CancellationToken cancellationToken);
}
