using Grpc.Core;
using Sds.Proto.V1;
using Sds.Storage.Chunks;
using Sds.Storage.Replication;

namespace Sds.Storage.Service;

/// <summary>
/// The learner's side of a PG snapshot: pulls <c>FetchSnapshot</c> from the leader, checks each piece's
/// CRC32C, replaces each chunk (delete, then write the non-zero pieces) and flushes the store before the
/// held Raft snapshot message is stepped (StorageNodeHost), so the replica never claims data it lacks.
/// </summary>
internal sealed class PgSnapshotFetcher : IPgSnapshotFetcher
{
    private readonly IChunkStore store;
    private readonly PeerClients peers;
    private readonly string selfName;

    public PgSnapshotFetcher(IChunkStore store, PeerClients peers, string selfName)
    {
        this.store = store;
        this.peers = peers;
        this.selfName = selfName;
    }

    /// <summary>Snapshots fully stored, for tests and metrics.</summary>
    public long SnapshotsInstalled;

    public async Task<bool> FetchAsync(uint pgId, ulong fromMember, CancellationToken cancellationToken)
    {
        if (!peers.TryGet(fromMember, out Proto.V1.Storage.StorageClient? client))
        {
            return false;
        }

        try
        {
            using AsyncServerStreamingCall<SnapshotPiece> call = client.FetchSnapshot(new FetchSnapshotRequest { PgId = pgId, RequesterNodeId = selfName }, cancellationToken: cancellationToken);
            ChunkKey current = default;
            bool inChunk = false;
            while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                SnapshotPiece piece = call.ResponseStream.Current;
                if (piece.Done)
                {
                    bool flushed = store.Flush() == ChunkStatus.Ok;
                    if (flushed)
                    {
                        Interlocked.Increment(ref SnapshotsInstalled);
                    }

                    return flushed;
                }

                if (piece.Metadata is not null || string.IsNullOrEmpty(piece.VolumeId))
                {
                    continue;
                }

                if (!Guid.TryParse(piece.VolumeId, out Guid volume))
                {
                    return false;
                }

                var key = new ChunkKey(volume, piece.ChunkIndex);
                if (!inChunk || key != current)
                {
                    // Replace the chunk: ranges that are zero at the leader must not keep stale data here.
                    if (store.DeleteChunk(key) != ChunkStatus.Ok)
                    {
                        return false;
                    }

                    current = key;
                    inChunk = true;
                }

                if (!piece.Data.IsEmpty)
                {
                    if (Crc32C.Compute(piece.Data.Span) != piece.Crc32C || store.Write(key, (long)piece.OffsetBytes, piece.Data.Span) != ChunkStatus.Ok)
                    {
                        return false;
                    }
                }

                if (piece.ChunkDone)
                {
                    inChunk = false;
                }
            }
            return false;
        }
        catch (RpcException)
        {
            return false;
        }
    }
}
