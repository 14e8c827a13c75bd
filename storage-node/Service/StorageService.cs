using System.Buffers;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Sds.Proto.V1;
using Sds.Raft.Transport;
using Sds.Storage.Chunks;
using Sds.Storage.Placement;
using Sds.Storage.Replication;

namespace Sds.Storage.Service;

/// <summary>
/// The <c>sds.v1.Storage</c> service of a storage node: the bidi <c>Io</c> stream (many requests in flight,
/// answered in completion order and matched by id), the unary forms, PG snapshot streaming for learners,
/// and scrub. Errors are <see cref="IoStatus"/> values; a gRPC status only ends a whole stream.
/// </summary>
internal sealed class StorageService : Proto.V1.Storage.StorageBase
{
    /// <summary>Requests executing at once per Io stream; the reader stops taking more until one completes.</summary>
    public const int IoInFlightMax = 256;

    /// <summary>Largest snapshot piece, bytes (storage.proto: at most 1 MiB).</summary>
    public const int SnapshotPieceBytesMax = 1024 * 1024;

    private readonly StorageRequestExecutor executor;
    private readonly StorageNodeHost host;
    private readonly StorageNodeOptions options;

    public StorageService(StorageRequestExecutor executor, StorageNodeHost host, StorageNodeOptions options)
    {
        this.executor = executor;
        this.host = host;
        this.options = options;
    }

    /// <inheritdoc/>
    public override async Task Io(IAsyncStreamReader<IoRequest> requestStream, IServerStreamWriter<IoResponse> responseStream, ServerCallContext context)
    {
        CancellationToken cancellationToken = context.CancellationToken;
        var responses = Channel.CreateBounded<IoResponse>(new BoundedChannelOptions(IoInFlightMax) { SingleReader = true });
        using var slots = new SemaphoreSlim(IoInFlightMax);
        Task writer = WriteResponsesAsync(responses.Reader, responseStream, cancellationToken);
        try
        {
            while (await requestStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                _ = ExecuteOneAsync(requestStream.Current, responses.Writer, slots, cancellationToken);
            }

            // Half-closed by the client: answer what is in flight, then end the stream.
            for (int i = 0; i < IoInFlightMax; i++)
            {
                await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            responses.Writer.TryComplete();
            await writer.ConfigureAwait(false);
        }
    }

    private async Task ExecuteOneAsync(IoRequest request, ChannelWriter<IoResponse> responses, SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        try
        {
            IoResponse response = await executor.ExecuteAsync(request, cancellationToken).ConfigureAwait(false);
            await responses.WriteAsync(response, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is OperationCanceledException or ChannelClosedException)
        {
            // The stream ended; the client fails its outstanding requests itself.
        }
        finally
        {
            slots.Release();
        }
    }

    private static async Task WriteResponsesAsync(ChannelReader<IoResponse> responses, IServerStreamWriter<IoResponse> stream, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (IoResponse response in responses.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await stream.WriteAsync(response).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or RpcException or InvalidOperationException or IOException)
        {
            // The client went away; nothing is left to answer.
        }
    }

    /// <inheritdoc/>
    public override Task<ReadResponse> Read(ReadRequest request, ServerCallContext context) => executor.ReadAsync(request, context.CancellationToken);

    /// <inheritdoc/>
    public override async Task<WriteResponse> Write(WriteRequest request, ServerCallContext context) => new() { Status = await executor.WriteAsync(request).ConfigureAwait(false) };

    /// <inheritdoc/>
    public override async Task<WriteSameResponse> WriteSame(WriteSameRequest request, ServerCallContext context) => new() { Status = await executor.WriteSameAsync(request).ConfigureAwait(false) };

    /// <inheritdoc/>
    public override async Task<UnmapResponse> Unmap(UnmapRequest request, ServerCallContext context) => new() { Status = await executor.UnmapAsync(request).ConfigureAwait(false) };

    /// <inheritdoc/>
    public override Task<CompareAndWriteResponse> CompareAndWrite(CompareAndWriteRequest request, ServerCallContext context) => executor.CompareAndWriteAsync(request);

    /// <inheritdoc/>
    public override async Task<FlushResponse> Flush(FlushRequest request, ServerCallContext context) => new() { Status = await executor.FlushAsync(request).ConfigureAwait(false) };

    /// <inheritdoc/>
    public override Task<GetLbaStatusResponse> GetLbaStatus(GetLbaStatusRequest request, ServerCallContext context) => executor.GetLbaStatusAsync(request);

    /// <inheritdoc/>
    public override Task<ScrubChunkResponse> ScrubChunk(ScrubChunkRequest request, ServerCallContext context) => executor.ScrubChunkAsync(request, context.CancellationToken);

    /// <summary>
    /// Streams this replica's chunks of the PG to a learner (DESIGN.md §5.5): every chunk the PG owns, in
    /// pieces of at most 1 MiB, all-zero pieces skipped, each with its CRC32C, throttled to
    /// <see cref="StorageNodeOptions.SnapshotBytesPerSecond"/>. The data is at least as new as the applied
    /// index in the first piece's metadata; the learner replays the log after it (writes are idempotent).
    /// </summary>
    public override async Task FetchSnapshot(FetchSnapshotRequest request, IServerStreamWriter<SnapshotPiece> responseStream, ServerCallContext context)
    {
        PgView? view = host.View(request.PgId);
        if (view is null)
        {
            throw new RpcException(new Status(StatusCode.NotFound, "this node holds no replica of the PG"));
        }

        IChunkStore store = host.Store;
        var chunks = new List<ChunkKey>();
        if (store.ListChunks(null, chunks) != ChunkStatus.Ok)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "listing chunks failed"));
        }

        int count = host.Placement.PlacementGroupCount;
        chunks.RemoveAll(c => PlacementMath.PgForChunk(c.VolumeId, c.ChunkIndex, count) != request.PgId);
        var first = new SnapshotPiece
        {
            PgId = request.PgId,
            Metadata = new Proto.V1.SnapshotMetadata { Index = view.Applied, Term = view.Term },
        };
        await responseStream.WriteAsync(first).ConfigureAwait(false);

        int chunkBytes = store.Geometry.ChunkSizeBytes;
        int pieceBytes = Math.Min(SnapshotPieceBytesMax, chunkBytes);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(pieceBytes);
        long started = Environment.TickCount64;
        long sentBytes = 0;
        try
        {
            foreach (ChunkKey chunk in chunks)
            {
                for (int offset = 0; offset < chunkBytes; offset += pieceBytes)
                {
                    context.CancellationToken.ThrowIfCancellationRequested();
                    ChunkReadResult read = executor.ReadLocal(chunk, offset, buffer.AsSpan(0, pieceBytes), out _);
                    if (read.Status != ChunkStatus.Ok)
                    {
                        throw new RpcException(new Status(StatusCode.DataLoss, $"chunk {chunk} unreadable ({read.Status}); snapshot aborted"));
                    }

                    bool last = offset + pieceBytes >= chunkBytes;
                    ReadOnlySpan<byte> data = buffer.AsSpan(0, pieceBytes);
                    bool zero = !data.ContainsAnyExcept((byte)0);
                    if (zero && !last)
                    {
                        continue;
                    }

                    var piece = new SnapshotPiece
                    {
                        PgId = request.PgId,
                        VolumeId = chunk.VolumeId.ToString(),
                        ChunkIndex = chunk.ChunkIndex,
                        OffsetBytes = (ulong)offset,
                        ChunkDone = last,
                    };
                    if (!zero)
                    {
                        piece.Data = ByteString.CopyFrom(data);
                        piece.Crc32C = Crc32C.Compute(data);
                        sentBytes += data.Length;
                    }

                    await responseStream.WriteAsync(piece).ConfigureAwait(false);
                    await ThrottleAsync(started, sentBytes, context.CancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        await responseStream.WriteAsync(new SnapshotPiece { PgId = request.PgId, Done = true }).ConfigureAwait(false);
    }

    private async Task ThrottleAsync(long startedMs, long sentBytes, CancellationToken cancellationToken)
    {
        long dueMs = sentBytes * 1000 / Math.Max(1, options.SnapshotBytesPerSecond);
        long elapsedMs = Environment.TickCount64 - startedMs;
        if (dueMs > elapsedMs)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(dueMs - elapsedMs), options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }
}
