using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Sds.Proto.V1;
using Sds.Storage.Placement;

namespace Sds.Storage.Client;

/// <summary>
/// Block I/O on chunks for gateways (DESIGN.md §5.1): routes (volume, chunk) to its PG with
/// <see cref="PlacementMath.PgForChunk"/>, sends to the PG's leader over one <c>Storage.Io</c> stream per
/// storage node, caches the leader per PG, follows NOT_LEADER hints, retries on another member when a node
/// is unreachable or an election is running, and gives up with BUSY after
/// <see cref="StorageClientOptions.RequestTimeout"/>. Every method returns the final <see cref="IoStatus"/>;
/// none throws for an operating error.
/// </summary>
/// <remarks>
/// A write or unmap retried after a lost answer may be applied twice; both are idempotent. A retried
/// COMPARE AND WRITE whose first attempt was applied answers MISCOMPARE (the data already changed), as a
/// SCSI initiator retrying after a lost response would also see.
/// </remarks>
public sealed class StorageClient : IAsyncDisposable
{
    private readonly IPlacementSource placement;
    private readonly StorageClientOptions options;
    private readonly ConcurrentDictionary<ulong, StorageIoConnection> connections = new();
    private readonly ConcurrentDictionary<uint, ulong> leaders = new();
    private int rotation;
    private StorageNode? local;

    /// <summary>Creates a client over <paramref name="placement"/> (static today, meta's map later).</summary>
    public StorageClient(IPlacementSource placement, StorageClientOptions? options = null)
    {
        this.placement = placement;
        this.options = options ?? new StorageClientOptions();
    }

    /// <summary>
    /// Routes requests for <paramref name="node"/>'s member to it in process, without a socket (DESIGN.md §7: the
    /// co-located parts of <c>sds server</c> call each other's service implementations directly). The request goes
    /// through the same executor the <c>Storage.Io</c> stream uses, so the code path is the cluster's.
    /// </summary>
    internal void AttachLocal(StorageNode node) => local = node;

    /// <summary>The PG owning a chunk.</summary>
    public uint PgFor(Guid volumeId, ulong chunkIndex) => PlacementMath.PgForChunk(volumeId, chunkIndex, placement.PlacementGroupCount);

    /// <summary>The cached leader of <paramref name="pgId"/> (0 if none yet).</summary>
    public ulong CachedLeader(uint pgId) => leaders.TryGetValue(pgId, out ulong leader) ? leader : 0;

    /// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="offsetBytes"/> of the chunk.</summary>
    public async Task<IoStatus> ReadAsync(Guid volumeId, ulong chunkIndex, ulong offsetBytes, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        var request = new IoRequest { Read = new ReadRequest { Target = Target(volumeId, chunkIndex), OffsetBytes = offsetBytes, LengthBytes = (uint)destination.Length } };
        IoResponse response = await SendAsync(request, request.Read.Target, cancellationToken).ConfigureAwait(false);
        if (response.Read is { Status.Code: IoStatusCode.Ok } read)
        {
            if (read.Data.Length != destination.Length)
            {
                return new IoStatus { Code = IoStatusCode.MediumError, Message = "short read" };
            }

            read.Data.Span.CopyTo(destination.Span);
        }

        return StatusOf(response);
    }

    /// <summary>Writes <paramref name="data"/> (not copied: keep it unchanged until the task completes); OK means durable on a quorum.</summary>
    public async Task<IoStatus> WriteAsync(Guid volumeId, ulong chunkIndex, ulong offsetBytes, ReadOnlyMemory<byte> data, bool forceUnitAccess = false, CancellationToken cancellationToken = default)
    {
        var request = new IoRequest { Write = new WriteRequest { Target = Target(volumeId, chunkIndex), OffsetBytes = offsetBytes, Data = UnsafeByteOperations.UnsafeWrap(data), ForceUnitAccess = forceUnitAccess } };
        return StatusOf(await SendAsync(request, request.Write.Target, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>WRITE SAME of one block <paramref name="pattern"/> over a range (SBC-3), atomic at apply time.</summary>
    public async Task<IoStatus> WriteSameAsync(Guid volumeId, ulong chunkIndex, ulong offsetBytes, ulong lengthBytes, ReadOnlyMemory<byte> pattern, bool unmap = false, CancellationToken cancellationToken = default)
    {
        var request = new IoRequest { WriteSame = new WriteSameRequest { Target = Target(volumeId, chunkIndex), OffsetBytes = offsetBytes, LengthBytes = lengthBytes, Pattern = UnsafeByteOperations.UnsafeWrap(pattern), Unmap = unmap } };
        return StatusOf(await SendAsync(request, request.WriteSame.Target, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>UNMAP of (offset, length) ranges within one chunk, one Raft command.</summary>
    public async Task<IoStatus> UnmapAsync(Guid volumeId, ulong chunkIndex, IReadOnlyList<(ulong OffsetBytes, ulong LengthBytes)> ranges, CancellationToken cancellationToken = default)
    {
        var unmap = new UnmapRequest { Target = Target(volumeId, chunkIndex) };
        foreach ((ulong offset, ulong length) in ranges)
        {
            unmap.Ranges.Add(new ByteRange { OffsetBytes = offset, LengthBytes = length });
        }

        var request = new IoRequest { Unmap = unmap };
        return StatusOf(await SendAsync(request, unmap.Target, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>COMPARE AND WRITE (SBC-3): MISCOMPARE carries miscompare_offset_bytes; decided at apply time on every replica.</summary>
    public async Task<IoStatus> CompareAndWriteAsync(Guid volumeId, ulong chunkIndex, ulong offsetBytes, ReadOnlyMemory<byte> compare, ReadOnlyMemory<byte> write, CancellationToken cancellationToken = default)
    {
        var request = new IoRequest { CompareAndWrite = new CompareAndWriteRequest { Target = Target(volumeId, chunkIndex), OffsetBytes = offsetBytes, CompareData = UnsafeByteOperations.UnsafeWrap(compare), WriteData = UnsafeByteOperations.UnsafeWrap(write), RequestId = NewRequestId() } };
        return StatusOf(await SendAsync(request, request.CompareAndWrite.Target, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// COMPARE AND WRITE that also says whether an earlier attempt of this call may have been applied: an attempt
    /// sent on a stream that then broke or timed out, or answered NOT_LEADER/BUSY (a leader that steps down fails
    /// its waiting proposals although they may still commit). A MISCOMPARE after such an attempt may be this very
    /// command's own success; the caller re-checks (gateway/Block/README.md) instead of trusting it.
    /// </summary>
    public async Task<(IoStatus Status, bool EarlierAttemptMayHaveApplied)> CompareAndWriteCheckedAsync(Guid volumeId, ulong chunkIndex, ulong offsetBytes, ReadOnlyMemory<byte> compare, ReadOnlyMemory<byte> write, CancellationToken cancellationToken = default)
    {
        var request = new IoRequest { CompareAndWrite = new CompareAndWriteRequest { Target = Target(volumeId, chunkIndex), OffsetBytes = offsetBytes, CompareData = UnsafeByteOperations.UnsafeWrap(compare), WriteData = UnsafeByteOperations.UnsafeWrap(write), RequestId = NewRequestId() } };
        var ambiguous = new StrongBox<bool>();
        IoResponse response = await SendAsync(request, request.CompareAndWrite.Target, cancellationToken, ambiguous).ConfigureAwait(false);
        // Every retry carries the same request id: an outcome the PG reports as exactly-once is this command's own,
        // whatever earlier attempts did.
        bool exact = response.CompareAndWrite?.ExactlyOnce == true;
        return (StatusOf(response), ambiguous.Value && !exact);
    }

    // Retries of one COMPARE AND WRITE resend the same IoRequest, so they share this id.
    private static ByteString NewRequestId()
    {
        Span<byte> id = stackalloc byte[16];
        System.Security.Cryptography.RandomNumberGenerator.Fill(id);
        return ByteString.CopyFrom(id);
    }

    /// <summary>SYNCHRONIZE CACHE barrier for the PG of a chunk.</summary>
    public async Task<IoStatus> FlushAsync(Guid volumeId, ulong chunkIndex, CancellationToken cancellationToken = default)
    {
        var request = new IoRequest { Flush = new FlushRequest { Target = Target(volumeId, chunkIndex) } };
        return StatusOf(await SendAsync(request, request.Flush.Target, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>GET LBA STATUS of a range within one chunk.</summary>
    public async Task<GetLbaStatusResponse> GetLbaStatusAsync(Guid volumeId, ulong chunkIndex, ulong offsetBytes, ulong lengthBytes, CancellationToken cancellationToken = default)
    {
        var request = new IoRequest { GetLbaStatus = new GetLbaStatusRequest { Target = Target(volumeId, chunkIndex), OffsetBytes = offsetBytes, LengthBytes = lengthBytes } };
        IoResponse response = await SendAsync(request, request.GetLbaStatus.Target, cancellationToken).ConfigureAwait(false);
        return response.GetLbaStatus ?? new GetLbaStatusResponse { Status = StatusOf(response) };
    }

    private IoTarget Target(Guid volumeId, ulong chunkIndex) => new() { VolumeId = volumeId.ToString(), ChunkIndex = chunkIndex, PgId = PgFor(volumeId, chunkIndex) };

    /// <summary>
    /// The routing loop: leader from the cache or the next member, NOT_LEADER → the hinted leader, unreachable
    /// or BUSY or no leader → the next member after a short backoff, until the request timeout.
    /// </summary>
    // Untraced requests go straight to the routing loop: no second state machine per I/O.
    private Task<IoResponse> SendAsync(IoRequest request, IoTarget target, CancellationToken cancellationToken, StrongBox<bool>? ambiguous = null) =>
        StorageTelemetry.Source.HasListeners()
            ? SendTracedAsync(request, target, cancellationToken, ambiguous)
            : RouteAsync(request, target, cancellationToken, ambiguous);

    // One client span per request, retries included; its context travels in the request (DESIGN.md §8).
    private async Task<IoResponse> SendTracedAsync(IoRequest request, IoTarget target, CancellationToken cancellationToken, StrongBox<bool>? ambiguous)
    {
        using Activity? activity = StorageTelemetry.Source.StartActivity(StorageTelemetry.SpanName(request.OpCase), ActivityKind.Client);
        if (activity is not null)
        {
            request.Traceparent = StorageTelemetry.TraceParentOf(activity);
            activity.SetTag("sds.pg", target.PgId);
        }

        IoResponse response = await RouteAsync(request, target, cancellationToken, ambiguous).ConfigureAwait(false);
        activity?.SetTag("sds.io.status", StatusOf(response).Code.ToString());
        return response;
    }

    // `ambiguous` (when given) is set once an attempt ended without a definite "not applied".
    private async Task<IoResponse> RouteAsync(IoRequest request, IoTarget target, CancellationToken cancellationToken, StrongBox<bool>? ambiguous)
    {
        TimeProvider time = options.TimeProvider;
        long started = time.GetTimestamp();
        uint pg = target.PgId;
        IoResponse? last = null;
        // Filled only on the retry path (the first attempt usually answers): what each failed attempt saw.
        Queue<string>? attempts = null;
        while (time.GetElapsedTime(started) < options.RequestTimeout)
        {
            cancellationToken.ThrowIfCancellationRequested();
            PlacementGroupAssignment assignment = placement.GetAssignment(pg);
            target.PgEpoch = assignment.Epoch;
            if (assignment.Voters.Length == 0)
            {
                // Not placed yet (meta places a PG once enough storage nodes registered): wait for the map.
                await Task.Delay(options.RetryBackoff, time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            ulong member = leaders.TryGetValue(pg, out ulong cached) && assignment.Contains(cached)
                ? cached
                : assignment.Voters[(int)((uint)Interlocked.Increment(ref rotation) % (uint)assignment.Voters.Length)];
            StorageNode? inProcess = local is { } node && node.Host.NodeId == member ? node : null;
            StorageIoConnection? connection = inProcess is null ? Connection(member) : null;
            IoResponse? response = null;
            if (inProcess is not null || connection is not null)
            {
                // Each attempt is bounded by what is left of the request timeout: a node that accepted the
                // request and then hangs (partitioned, stopped) must not hold the caller forever.
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(options.RequestTimeout - time.GetElapsedTime(started));
                try
                {
                    response = inProcess is not null
                        ? await inProcess.Executor.ExecuteAsync(request, attempt.Token).WaitAsync(attempt.Token).ConfigureAwait(false)
                        : await connection!.SendAsync(request, attempt.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    response = null;
                }
            }

            if (response is null)
            {
                Note(ref attempts, time.GetElapsedTime(started), member, assignment.Epoch, null, connection);
                if (connection is not null && ambiguous is not null) ambiguous.Value = true;
                leaders.TryRemove(new KeyValuePair<uint, ulong>(pg, member));
                await Task.Delay(options.RetryBackoff, time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            last = response;
            IoStatus status = StatusOf(response);
            if (ambiguous is not null && status.Code is IoStatusCode.NotLeader or IoStatusCode.Busy) ambiguous.Value = true;
            if (status.Code is IoStatusCode.NotLeader or IoStatusCode.Busy or IoStatusCode.StaleEpoch or IoStatusCode.PgNotFound)
            {
                Note(ref attempts, time.GetElapsedTime(started), member, assignment.Epoch, status, null);
            }

            switch (status.Code)
            {
                case IoStatusCode.NotLeader:
                    if (ulong.TryParse(status.LeaderNodeId, NumberStyles.None, CultureInfo.InvariantCulture, out ulong hinted) && hinted != member)
                    {
                        leaders[pg] = hinted;
                        continue;
                    }

                    leaders.TryRemove(new KeyValuePair<uint, ulong>(pg, member));
                    await Task.Delay(options.RetryBackoff, time, cancellationToken).ConfigureAwait(false);
                    continue;
                case IoStatusCode.Busy or IoStatusCode.StaleEpoch or IoStatusCode.PgNotFound:
                    leaders.TryRemove(new KeyValuePair<uint, ulong>(pg, member));
                    await Task.Delay(options.RetryBackoff, time, cancellationToken).ConfigureAwait(false);
                    continue;
                default:
                    leaders[pg] = member;
                    return response;
            }
        }

        options.GaveUp?.Invoke(pg, attempts is null ? "no attempt (PG not placed)" : string.Join("; ", attempts));
        return last ?? new IoResponse { Write = new WriteResponse { Status = new IoStatus { Code = IoStatusCode.Busy, Message = "no PG leader reachable before the request timeout" } } };
    }

    // status null: no answer (unreachable, stream broke, or the attempt's share of the timeout ran out).
    private void Note(ref Queue<string>? attempts, TimeSpan at, ulong member, ulong epoch, IoStatus? status, StorageIoConnection? connection)
    {
        if (options.GaveUp is null) return;
        attempts ??= new Queue<string>();
        if (attempts.Count == 16) attempts.Dequeue();
        string outcome = status is not null ? $"{status.Code} leader '{status.LeaderNodeId}' {status.Message}"
            : connection is not null ? $"no answer ({connection.Describe()})"
            : "no answer (in process, or no address for the member)";
        attempts.Enqueue(string.Create(CultureInfo.InvariantCulture, $"+{at.TotalMilliseconds:F0}ms member {member} epoch {epoch}: {outcome}"));
    }

    private StorageIoConnection? Connection(ulong member)
    {
        if (connections.TryGetValue(member, out StorageIoConnection? connection))
        {
            return connection;
        }

        if (!placement.TryGetNodeAddress(member, out string? address))
        {
            return null;
        }

        return connections.GetOrAdd(member, static (_, state) => new StorageIoConnection(state.address, state.token), (address, token: options.BearerToken));
    }

    /// <summary>The status of whichever result a response carries (INVALID when none).</summary>
    public static IoStatus StatusOf(IoResponse response) => response.ResultCase switch
    {
        IoResponse.ResultOneofCase.Read => response.Read.Status,
        IoResponse.ResultOneofCase.Write => response.Write.Status,
        IoResponse.ResultOneofCase.WriteSame => response.WriteSame.Status,
        IoResponse.ResultOneofCase.Unmap => response.Unmap.Status,
        IoResponse.ResultOneofCase.CompareAndWrite => response.CompareAndWrite.Status,
        IoResponse.ResultOneofCase.Flush => response.Flush.Status,
        IoResponse.ResultOneofCase.GetLbaStatus => response.GetLbaStatus.Status,
        _ => null,
    } ?? new IoStatus { Code = IoStatusCode.Invalid, Message = "response without a result" };

    /// <summary>Closes every stream.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (StorageIoConnection connection in connections.Values)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        connections.Clear();
    }
}
