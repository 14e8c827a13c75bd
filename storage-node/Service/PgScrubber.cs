using System.Buffers;
using System.Globalization;
using Grpc.Core;
using Sds.Proto.V1;
using Sds.Raft;
using Sds.Storage.Chunks;
using Sds.Storage.Placement;
using Sds.Storage.Replication;

namespace Sds.Storage.Service;

/// <summary>
/// Background scrub (DESIGN.md §9): for every PG this node leads, each chunk is read locally (repairing blocks
/// whose CRC32C fails from a follower), and every follower is asked to verify its copy (repairing from this
/// leader) and to report per-block CRC32Cs, which are compared with the leader's. Rate-limited to
/// <see cref="ChunksPerSecond"/> so scrub never competes with client I/O.
/// </summary>
internal sealed class PgScrubber
{
    private readonly StorageNodeHost host;
    private readonly StorageRequestExecutor executor;
    private readonly PeerClients peers;

    public PgScrubber(StorageNodeHost host, StorageRequestExecutor executor, PeerClients peers)
    {
        this.host = host;
        this.executor = executor;
        this.peers = peers;
    }

    /// <summary>Chunks scrubbed per second at most.</summary>
    public int ChunksPerSecond { get; init; } = 8;

    /// <summary>One pass over every PG this node leads.</summary>
    public async Task<ScrubReport> ScrubOnceAsync(CancellationToken cancellationToken)
    {
        IChunkStore store = host.Store;
        var chunks = new List<ChunkKey>();
        if (store.ListChunks(null, chunks) != ChunkStatus.Ok)
        {
            return default;
        }

        int count = host.Placement.PlacementGroupCount;
        int scrubbed = 0, local = 0, remote = 0, mismatched = 0;
        int chunkBytes = store.Geometry.ChunkSizeBytes;
        int blockSize = store.Geometry.BlockSizeBytes;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(chunkBytes);
        try
        {
            foreach (ChunkKey chunk in chunks)
            {
                uint pg = PlacementMath.PgForChunk(chunk.VolumeId, chunk.ChunkIndex, count);
                PgView? view = host.View(pg);
                if (view is null || view.Role != RaftRole.Leader)
                {
                    continue;
                }

                var target = new IoTarget { VolumeId = chunk.VolumeId.ToString(), ChunkIndex = chunk.ChunkIndex, PgId = pg, PgEpoch = view.Epoch };
                ulong applied = view.Applied;
                ChunkReadResult read = executor.ReadLocal(chunk, 0, buffer.AsSpan(0, chunkBytes), out int[]? corrupt);
                if (read.Status == ChunkStatus.Corrupt && corrupt is not null &&
                    await executor.RepairFromReplicasAsync(pg, target, chunk, 0, chunkBytes, corrupt, applied, 0, cancellationToken).ConfigureAwait(false))
                {
                    local += corrupt.Length;
                    read = executor.ReadLocal(chunk, 0, buffer.AsSpan(0, chunkBytes), out _);
                }

                if (read.Status != ChunkStatus.Ok)
                {
                    continue;
                }

                foreach (ulong follower in view.Voters)
                {
                    if (follower == host.NodeId || !peers.TryGet(follower, out Proto.V1.Storage.StorageClient? client))
                    {
                        continue;
                    }

                    ScrubChunkResponse answer;
                    try
                    {
                        answer = await client.ScrubChunkAsync(new ScrubChunkRequest
                        {
                            PgId = pg, VolumeId = target.VolumeId, ChunkIndex = chunk.ChunkIndex,
                            RequesterNodeId = host.NodeId.ToString(CultureInfo.InvariantCulture),
                        }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken).ConfigureAwait(false);
                    }
                    catch (RpcException)
                    {
                        continue;
                    }

                    if (answer.Status?.Code != IoStatusCode.Ok)
                    {
                        continue;
                    }

                    remote += answer.RepairedBlocks.Count;
                    for (int block = 0; block < answer.BlockCrc32C.Count && block * blockSize < chunkBytes; block++)
                    {
                        // A follower may lag the leader by in-flight writes, so a differing block is a hint, not proof.
                        if (answer.BlockCrc32C[block] != Crc32C.Compute(buffer.AsSpan(block * blockSize, blockSize)))
                        {
                            mismatched++;
                        }
                    }
                }

                scrubbed++;
                await Task.Delay(1000 / Math.Max(1, ChunksPerSecond), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new ScrubReport(scrubbed, local, remote, mismatched);
    }
}
