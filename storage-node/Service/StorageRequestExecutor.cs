using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Sds.Proto.V1;
using Sds.Storage.Chunks;
using Sds.Storage.Client;
using Sds.Storage.Placement;
using Sds.Storage.Replication;

namespace Sds.Storage.Service;

/// <summary>
/// Executes Storage requests at this node (DESIGN.md §5): validates the target, checks the route, proposes
/// writes to the PG's Raft and answers when applied, serves reads under the leader lease from the local
/// chunk store, and repairs blocks whose CRC32C fails from a healthy replica before answering.
/// Shared by the bidi <c>Io</c> stream and the unary forms.
/// </summary>
internal sealed class StorageRequestExecutor
{
    /// <summary>Largest data of one request: one chunk (a request never crosses a chunk).</summary>
    public const int RequestBytesMax = ChunkGeometry.ChunkSizeBytesMax;

    /// <summary>Bad blocks one read reports and repairs; more than this fails the read with MEDIUM_ERROR.</summary>
    private const int CorruptBlocksMax = 64;

    /// <summary>How long a replica read waits to reach the requested applied index before answering BUSY.</summary>
    private static readonly TimeSpan ReplicaCatchUpWait = TimeSpan.FromSeconds(2);

    private readonly StorageNodeHost host;
    private readonly IChunkStore store;
    private readonly IPlacementSource placement;
    private readonly PeerClients peers;
    private readonly string selfName;
    private long blocksRepaired;

    public StorageRequestExecutor(StorageNodeHost host, PeerClients peers)
    {
        this.host = host;
        store = host.Store;
        placement = host.Placement;
        this.peers = peers;
        selfName = host.NodeId.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Blocks this node rewrote from a replica after a checksum mismatch.</summary>
    public long BlocksRepaired => Interlocked.Read(ref blocksRepaired);

    // Unobserved requests go straight to the operation: no second state machine per I/O.
    public Task<IoResponse> ExecuteAsync(IoRequest request, CancellationToken cancellationToken) =>
        StorageTelemetry.Observed ? ExecuteObservedAsync(request, cancellationToken) : ExecuteOpAsync(request, cancellationToken);

    private async Task<IoResponse> ExecuteObservedAsync(IoRequest request, CancellationToken cancellationToken)
    {
        string op = StorageTelemetry.OpName(request.OpCase);
        long started = Stopwatch.GetTimestamp();
        // The leader's span continues the caller's trace; PgCommand.Create picks it up from Activity.Current so the
        // replicas' apply spans join the same trace.
        using Activity? activity = StorageTelemetry.StartFrom(StorageTelemetry.SpanName(request.OpCase), ActivityKind.Server, request.Traceparent);
        activity?.SetTag("sds.node", selfName);
        IoResponse response = await ExecuteOpAsync(request, cancellationToken).ConfigureAwait(false);
        var tag = new KeyValuePair<string, object?>("op", op);
        StorageTelemetry.Latency.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, tag);
        StorageTelemetry.Requests.Add(1, tag); // instruments skip the work when not enabled
        StorageTelemetry.Bytes.Add(request.OpCase switch
        {
            IoRequest.OpOneofCase.Write => request.Write.Data.Length,
            IoRequest.OpOneofCase.Read => request.Read.LengthBytes,
            _ => 0,
        }, tag);

        activity?.SetTag("sds.io.status", StorageClient.StatusOf(response).Code.ToString());
        return response;
    }

    private async Task<IoResponse> ExecuteOpAsync(IoRequest request, CancellationToken cancellationToken)
    {
        var response = new IoResponse { Id = request.Id };
        switch (request.OpCase)
        {
            case IoRequest.OpOneofCase.Read:
                response.Read = await ReadAsync(request.Read, cancellationToken).ConfigureAwait(false);
                break;
            case IoRequest.OpOneofCase.Write:
                response.Write = new WriteResponse { Status = await WriteAsync(request.Write).ConfigureAwait(false) };
                break;
            case IoRequest.OpOneofCase.WriteSame:
                response.WriteSame = new WriteSameResponse { Status = await WriteSameAsync(request.WriteSame).ConfigureAwait(false) };
                break;
            case IoRequest.OpOneofCase.Unmap:
                response.Unmap = new UnmapResponse { Status = await UnmapAsync(request.Unmap).ConfigureAwait(false) };
                break;
            case IoRequest.OpOneofCase.CompareAndWrite:
                response.CompareAndWrite = await CompareAndWriteAsync(request.CompareAndWrite).ConfigureAwait(false);
                break;
            case IoRequest.OpOneofCase.Flush:
                response.Flush = new FlushResponse { Status = await FlushAsync(request.Flush).ConfigureAwait(false) };
                break;
            case IoRequest.OpOneofCase.GetLbaStatus:
                response.GetLbaStatus = await GetLbaStatusAsync(request.GetLbaStatus).ConfigureAwait(false);
                break;
            default:
                // No result set: the caller sees an empty oneof and treats it as INVALID.
                break;
        }

        return response;
    }

    public async Task<IoStatus> WriteAsync(WriteRequest request)
    {
        if (!TryResolve(request.Target, out ChunkKey key, out uint pg, out IoStatus? error) || !CheckRange(request.OffsetBytes, (ulong)request.Data.Length, out error))
        {
            return error!;
        }

        if (host.AdmitProposal(2L * request.Data.Length) != ChunkStatus.Ok)
        {
            return new IoStatus { Code = IoStatusCode.NoSpace, Message = "no space left for the Raft log on the storage node" };
        }

        byte[] payload = PgCommand.Create(PgCommandKind.Write, key, (long)request.OffsetBytes, request.Data.Length, 0, request.Data.Length, out Span<byte> body);
        request.Data.Span.CopyTo(body);
        return ToStatus(await host.ProposeAsync(pg, request.Target.PgEpoch, payload).ConfigureAwait(false));
    }

    public async Task<IoStatus> WriteSameAsync(WriteSameRequest request)
    {
        if (!TryResolve(request.Target, out ChunkKey key, out uint pg, out IoStatus? error) || !CheckRange(request.OffsetBytes, request.LengthBytes, out error))
        {
            return error!;
        }

        if (request.Pattern.Length != store.Geometry.BlockSizeBytes)
        {
            return Invalid("the pattern must be exactly one logical block");
        }

        byte[] payload = PgCommand.Create(PgCommandKind.WriteSame, key, (long)request.OffsetBytes, (int)request.LengthBytes, request.Unmap ? (byte)1 : (byte)0, request.Pattern.Length, out Span<byte> body);
        request.Pattern.Span.CopyTo(body);
        return ToStatus(await host.ProposeAsync(pg, request.Target.PgEpoch, payload).ConfigureAwait(false));
    }

    public async Task<IoStatus> UnmapAsync(UnmapRequest request)
    {
        if (!TryResolve(request.Target, out ChunkKey key, out uint pg, out IoStatus? error))
        {
            return error!;
        }

        if (request.Ranges.Count is 0 or > 4096)
        {
            return Invalid("between 1 and 4096 ranges");
        }

        foreach (ByteRange range in request.Ranges)
        {
            if (!CheckRange(range.OffsetBytes, range.LengthBytes, out error))
            {
                return error!;
            }
        }

        byte[] payload = PgCommand.Create(PgCommandKind.Unmap, key, 0, 0, 0, request.Ranges.Count * PgCommand.UnmapRangeBytes, out Span<byte> body);
        for (int i = 0; i < request.Ranges.Count; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(body[(i * PgCommand.UnmapRangeBytes)..], (long)request.Ranges[i].OffsetBytes);
            BinaryPrimitives.WriteInt32LittleEndian(body[(i * PgCommand.UnmapRangeBytes + 8)..], (int)request.Ranges[i].LengthBytes);
        }

        return ToStatus(await host.ProposeAsync(pg, request.Target.PgEpoch, payload).ConfigureAwait(false));
    }

    public async Task<CompareAndWriteResponse> CompareAndWriteAsync(CompareAndWriteRequest request)
    {
        if (!TryResolve(request.Target, out ChunkKey key, out uint pg, out IoStatus? error) || !CheckRange(request.OffsetBytes, (ulong)request.CompareData.Length, out error))
        {
            return new CompareAndWriteResponse { Status = error! };
        }

        if (request.CompareData.Length != request.WriteData.Length)
        {
            return new CompareAndWriteResponse { Status = Invalid("compare_data and write_data differ in length") };
        }

        if (request.RequestId.Length is not (0 or PgCommand.RequestIdBytes))
        {
            return new CompareAndWriteResponse { Status = Invalid("request_id must be 16 bytes") };
        }

        // The request id rides in the entry, so every replica records it at apply time and a retry of the same
        // command is answered with the first apply's outcome instead of being compared again (issue #7).
        int length = request.CompareData.Length;
        int idBytes = request.RequestId.Length;
        byte flags = idBytes == 0 ? (byte)0 : PgCommand.RequestIdFlag;
        byte[] payload = PgCommand.Create(PgCommandKind.CompareAndWrite, key, (long)request.OffsetBytes, length, flags, 2 * length + idBytes, out Span<byte> body);
        request.CompareData.Span.CopyTo(body);
        request.WriteData.Span.CopyTo(body[length..]);
        request.RequestId.Span.CopyTo(body[(2 * length)..]);
        PgResult result = await host.ProposeAsync(pg, request.Target.PgEpoch, payload).ConfigureAwait(false);
        IoStatus status = ToStatus(result);
        if (result.Code == IoStatusCode.Miscompare)
        {
            status.MiscompareOffsetBytes = (ulong)result.MiscompareOffsetBytes;
        }

        return new CompareAndWriteResponse { Status = status, ExactlyOnce = result.ExactlyOnce };
    }

    public async Task<IoStatus> FlushAsync(FlushRequest request)
    {
        if (request.Target is null || request.Target.PgId >= placement.PlacementGroupCount)
        {
            return Invalid("flush needs a valid pg_id");
        }

        // Acknowledged writes are already durable on a quorum (Raft log); the barrier orders it after them.
        byte[] payload = PgCommand.Create(PgCommandKind.Flush, default, 0, 0, 0, 0, out _);
        return ToStatus(await host.ProposeAsync(request.Target.PgId, request.Target.PgEpoch, payload).ConfigureAwait(false));
    }

    public async Task<ReadResponse> ReadAsync(ReadRequest request, CancellationToken cancellationToken)
    {
        if (!TryResolve(request.Target, out ChunkKey key, out uint pg, out IoStatus? error) || !CheckRange(request.OffsetBytes, request.LengthBytes, out error))
        {
            return new ReadResponse { Status = error };
        }

        if (request.ReplicaRead)
        {
            return await ReplicaReadAsync(request, key, pg, cancellationToken).ConfigureAwait(false);
        }

        PgResult barrier = await host.ReadBarrierAsync(pg, request.Target.PgEpoch).ConfigureAwait(false);
        if (!barrier.IsOk)
        {
            return new ReadResponse { Status = ToStatus(barrier) };
        }

        int length = (int)request.LengthBytes;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            ulong appliedAtRead = host.View(pg)?.Applied ?? 0;
            ChunkReadResult read = ReadLocal(key, (long)request.OffsetBytes, buffer.AsSpan(0, length), out int[]? corrupt);
            if (read.Status == ChunkStatus.Corrupt && corrupt is not null)
            {
                // The leader's copy is damaged: fetch good blocks from a replica that applied at least as much,
                // repair, and still answer with good data (DESIGN.md §9: nothing acknowledged is lost).
                read = await RepairFromReplicasAsync(pg, request.Target, key, (long)request.OffsetBytes, length, corrupt, appliedAtRead, 0, cancellationToken).ConfigureAwait(false)
                    ? ReadLocal(key, (long)request.OffsetBytes, buffer.AsSpan(0, length), out _)
                    : read;
            }

            if (read.Status != ChunkStatus.Ok)
            {
                return new ReadResponse { Status = ToStatus(PgReplica.FromChunk(read.Status)) };
            }

            return new ReadResponse { Status = new IoStatus { Code = IoStatusCode.Ok }, Data = ByteString.CopyFrom(buffer, 0, length) };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<ReadResponse> ReplicaReadAsync(ReadRequest request, ChunkKey key, uint pg, CancellationToken cancellationToken)
    {
        long deadline = Environment.TickCount64 + (long)ReplicaCatchUpWait.TotalMilliseconds;
        while (true)
        {
            PgView? view = host.View(pg);
            if (view is null)
            {
                return new ReadResponse { Status = new IoStatus { Code = IoStatusCode.PgNotFound } };
            }

            if (view.Applied >= request.MinAppliedIndex)
            {
                break;
            }

            if (Environment.TickCount64 > deadline)
            {
                return new ReadResponse { Status = new IoStatus { Code = IoStatusCode.Busy, Message = "replica behind the requested applied index" } };
            }

            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }

        byte[] data = new byte[request.LengthBytes];
        ChunkReadResult read = ReadLocal(key, (long)request.OffsetBytes, data, out int[]? corrupt);
        return read.Status == ChunkStatus.Ok
            ? new ReadResponse { Status = new IoStatus { Code = IoStatusCode.Ok }, Data = UnsafeByteOperations.UnsafeWrap(data) }
            : new ReadResponse { Status = ToStatus(PgReplica.FromChunk(read.Status)) };
    }

    public async Task<GetLbaStatusResponse> GetLbaStatusAsync(GetLbaStatusRequest request)
    {
        if (!TryResolve(request.Target, out ChunkKey key, out uint pg, out IoStatus? error) || !CheckRange(request.OffsetBytes, request.LengthBytes, out error))
        {
            return new GetLbaStatusResponse { Status = error };
        }

        PgResult barrier = await host.ReadBarrierAsync(pg, request.Target.PgEpoch).ConfigureAwait(false);
        if (!barrier.IsOk)
        {
            return new GetLbaStatusResponse { Status = ToStatus(barrier) };
        }

        var response = new GetLbaStatusResponse { Status = new IoStatus { Code = IoStatusCode.Ok } };
        long at = (long)request.OffsetBytes;
        long end = at + (long)request.LengthBytes;
        ChunkExtent[] extents = ArrayPool<ChunkExtent>.Shared.Rent(64);
        try
        {
            while (at < end)
            {
                ChunkStatus status = store.GetMappedExtents(key, at, (int)(end - at), extents.AsSpan(0, 64), out int count);
                if (status != ChunkStatus.Ok)
                {
                    return new GetLbaStatusResponse { Status = ToStatus(PgReplica.FromChunk(status)) };
                }

                if (count == 0)
                {
                    AddDescriptor(response, at, end, ProvisioningStatus.Deallocated);
                    break;
                }

                for (int i = 0; i < count; i++)
                {
                    if (extents[i].OffsetBytes > at)
                    {
                        AddDescriptor(response, at, extents[i].OffsetBytes, ProvisioningStatus.Deallocated);
                    }

                    long extentEnd = Math.Min(end, extents[i].OffsetBytes + extents[i].LengthBytes);
                    AddDescriptor(response, Math.Max(at, extents[i].OffsetBytes), extentEnd, ProvisioningStatus.Mapped);
                    at = extentEnd;
                }

                if (count < 64 && at < end)
                {
                    AddDescriptor(response, at, end, ProvisioningStatus.Deallocated);
                    break;
                }
            }
        }
        finally
        {
            ArrayPool<ChunkExtent>.Shared.Return(extents);
        }

        return response;
    }

    /// <summary>
    /// Scrub of one chunk on this replica for the leader: read every block, repair those whose CRC32C fails
    /// from the requester, answer each block's CRC32C so the leader can compare the replicas.
    /// </summary>
    public async Task<ScrubChunkResponse> ScrubChunkAsync(ScrubChunkRequest request, CancellationToken cancellationToken)
    {
        var target = new IoTarget { VolumeId = request.VolumeId, ChunkIndex = request.ChunkIndex, PgId = request.PgId };
        if (!TryResolve(target, out ChunkKey key, out uint pg, out IoStatus? error))
        {
            return new ScrubChunkResponse { Status = error };
        }

        var response = new ScrubChunkResponse();
        int chunkBytes = store.Geometry.ChunkSizeBytes;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(chunkBytes);
        try
        {
            ChunkReadResult read = ReadLocal(key, 0, buffer.AsSpan(0, chunkBytes), out int[]? corrupt);
            if (read.Status == ChunkStatus.Corrupt && corrupt is not null && ulong.TryParse(request.RequesterNodeId, NumberStyles.None, CultureInfo.InvariantCulture, out ulong requester))
            {
                if (await RepairFromReplicasAsync(pg, target, key, 0, chunkBytes, corrupt, 0, requester, cancellationToken).ConfigureAwait(false))
                {
                    response.RepairedBlocks.AddRange(corrupt.Select(static b => (uint)b));
                    read = ReadLocal(key, 0, buffer.AsSpan(0, chunkBytes), out _);
                }
            }

            if (read.Status != ChunkStatus.Ok)
            {
                response.Status = ToStatus(PgReplica.FromChunk(read.Status));
                return response;
            }

            int blockSize = store.Geometry.BlockSizeBytes;
            for (int offset = 0; offset < chunkBytes; offset += blockSize)
            {
                response.BlockCrc32C.Add(Crc32C.Compute(buffer.AsSpan(offset, blockSize)));
            }

            response.Status = new IoStatus { Code = IoStatusCode.Ok };
            return response;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads locally; on <see cref="ChunkStatus.Corrupt"/> lists the bad blocks (indexes within the chunk).</summary>
    public ChunkReadResult ReadLocal(in ChunkKey key, long offsetBytes, Span<byte> destination, out int[]? corruptBlocks)
    {
        Span<int> bad = stackalloc int[CorruptBlocksMax];
        ChunkReadResult read = store.Read(key, offsetBytes, destination, bad);
        corruptBlocks = read.Status == ChunkStatus.Corrupt && read.CorruptBlockCount <= CorruptBlocksMax
            ? bad[..read.CorruptBlockCount].ToArray()
            : null;
        return read;
    }

    /// <summary>
    /// Fetches the range from a replica (<paramref name="onlyFrom"/>, or any other voter) that applied at least
    /// <paramref name="minApplied"/>, then on the loop thread (serialized with applies) overwrites each listed
    /// block that still fails its checksum — a block rewritten meanwhile by a newer write is left alone.
    /// </summary>
    public async Task<bool> RepairFromReplicasAsync(uint pg, IoTarget target, ChunkKey key, long offsetBytes, int lengthBytes, int[] corruptBlocks, ulong minApplied, ulong onlyFrom, CancellationToken cancellationToken)
    {
        PgView? view = host.View(pg);
        if (view is null)
        {
            return false;
        }

        ulong[] candidates = onlyFrom != 0 ? [onlyFrom] : [.. view.Voters.Where(v => v != host.NodeId)];
        foreach (ulong member in candidates)
        {
            if (!peers.TryGet(member, out Proto.V1.Storage.StorageClient? client))
            {
                continue;
            }

            ReadResponse good;
            try
            {
                good = await client.ReadAsync(
                    new ReadRequest { Target = target, OffsetBytes = (ulong)offsetBytes, LengthBytes = (uint)lengthBytes, ReplicaRead = true, MinAppliedIndex = minApplied },
                    deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException)
            {
                continue;
            }

            if (good.Status?.Code != IoStatusCode.Ok || good.Data.Length != lengthBytes)
            {
                continue;
            }

            var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            ReadOnlyMemory<byte> data = good.Data.Memory;
            if (!host.TryInvoke(() => done.TrySetResult(RepairBlocks(key, offsetBytes, data.Span, corruptBlocks))))
            {
                return false;
            }

            if (await done.Task.ConfigureAwait(false))
            {
                return true;
            }
        }

        return false;
    }

    private bool RepairBlocks(in ChunkKey key, long offsetBytes, ReadOnlySpan<byte> good, int[] corruptBlocks)
    {
        int blockSize = store.Geometry.BlockSizeBytes;
        Span<byte> scratch = stackalloc byte[4096];
        foreach (int block in corruptBlocks)
        {
            long blockOffset = (long)block * blockSize;
            Span<byte> current = scratch[..blockSize];
            if (store.Read(key, blockOffset, current, []).Status != ChunkStatus.Corrupt)
            {
                continue;
            }

            if (store.Repair(key, blockOffset, good.Slice((int)(blockOffset - offsetBytes), blockSize)).Status != ChunkStatus.Ok)
            {
                return false;
            }

            Interlocked.Increment(ref blocksRepaired);
        }

        return true;
    }

    private static void AddDescriptor(GetLbaStatusResponse response, long start, long end, ProvisioningStatus status)
    {
        if (end <= start)
        {
            return;
        }

        if (response.Descriptors.Count > 0 && response.Descriptors[^1].Status == status)
        {
            response.Descriptors[^1].Range.LengthBytes += (ulong)(end - start);
            return;
        }

        response.Descriptors.Add(new LbaStatusDescriptor { Range = new ByteRange { OffsetBytes = (ulong)start, LengthBytes = (ulong)(end - start) }, Status = status });
    }

    private bool TryResolve(IoTarget? target, out ChunkKey key, out uint pg, out IoStatus? error)
    {
        key = default;
        pg = 0;
        error = null;
        if (target is null || !Guid.TryParse(target.VolumeId, out Guid volume))
        {
            error = Invalid("target with a volume UUID required");
            return false;
        }

        if (target.PgId >= placement.PlacementGroupCount || PlacementMath.PgForChunk(volume, target.ChunkIndex, placement.PlacementGroupCount) != target.PgId)
        {
            error = Invalid($"chunk {target.ChunkIndex} of {target.VolumeId} does not belong to PG {target.PgId}");
            return false;
        }

        key = new ChunkKey(volume, target.ChunkIndex);
        pg = target.PgId;
        return true;
    }

    private bool CheckRange(ulong offsetBytes, ulong lengthBytes, out IoStatus? error)
    {
        error = null;
        if (lengthBytes > RequestBytesMax || offsetBytes > RequestBytesMax || !store.Geometry.IsValidRange((long)offsetBytes, (long)lengthBytes))
        {
            error = new IoStatus { Code = IoStatusCode.OutOfRange, Message = "range must be non-empty, block aligned and inside the chunk" };
            return false;
        }

        return true;
    }

    private static IoStatus Invalid(string why) => new() { Code = IoStatusCode.Invalid, Message = why };

    /// <summary>The wire status of a PG result, with the leader's id and address on NOT_LEADER.</summary>
    public IoStatus ToStatus(in PgResult result)
    {
        var status = new IoStatus { Code = result.Code };
        if (result.Code == IoStatusCode.Ok)
        {
            return status;
        }

        if (result.Message is not null)
        {
            status.Message = result.Message;
        }

        if (result.LeaderMember != 0 && result.LeaderMember != host.NodeId)
        {
            status.LeaderNodeId = result.LeaderMember.ToString(CultureInfo.InvariantCulture);
            if (placement.TryGetNodeAddress(result.LeaderMember, out string? address))
            {
                status.LeaderAddress = address;
            }
        }

        if (result.Code == IoStatusCode.StaleEpoch)
        {
            status.CurrentEpoch = result.CurrentEpoch;
        }

        return status;
    }

    /// <summary>This node's id on the wire.</summary>
    public string SelfName => selfName;
}
