using Grpc.Core;
using Sds.Meta.Host;
using Sds.Meta.State;
using Sds.Proto.V1;

namespace Sds.Meta.Api;

/// <summary>
/// The one place where meta's error values become gRPC statuses (STYLE.md: RpcException only at the edge),
/// and where a follower says who leads.
/// </summary>
/// <remarks>
/// Routing decision (docs/decisions.md): a follower does not forward. Every call that needs the leader (all
/// writes, linearizable reads, heartbeats) ends on a follower with UNAVAILABLE "not the meta leader" and the
/// trailers <c>sds-leader-id</c> and <c>sds-leader-address</c> (the leader's peer address, which serves the same
/// API); clients retry there, or on their next address when no leader is known. Writes carry a request id
/// (<c>sds-request-id</c> header or CreateVolumeRequest.request_id), so a retry after an unknown outcome is
/// applied once.
/// </remarks>
internal sealed class MetaApiEdge
{
    /// <summary>Trailer naming the leader's Raft id.</summary>
    public const string LeaderIdTrailer = "sds-leader-id";

    /// <summary>Trailer naming an address where the leader serves this API.</summary>
    public const string LeaderAddressTrailer = "sds-leader-address";

    /// <summary>Header carrying the client's idempotency key for a write.</summary>
    public const string RequestIdHeader = "sds-request-id";

    /// <summary>Longest a call waits for the meta group when the client set no deadline.</summary>
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(15);

    private readonly IReadOnlyDictionary<ulong, string> peerAddresses;

    /// <summary>Creates the edge for <paramref name="node"/>; <paramref name="peerAddresses"/> maps Raft ids to API addresses.</summary>
    public MetaApiEdge(MetaNode node, IReadOnlyDictionary<ulong, string> peerAddresses)
    {
        Node = node;
        this.peerAddresses = peerAddresses;
    }

    /// <summary>The local member.</summary>
    public MetaNode Node { get; }

    /// <summary>The meta member id as a node-like name, for status pages.</summary>
    public static string MemberName(ulong raftId) => raftId == 0 ? string.Empty : $"meta-{raftId}";

    /// <summary>Proposes a write and returns its outcome, or ends the call with the right status.</summary>
    public async Task<CommandOutcome> ProposeAsync(MetaCommand command, ServerCallContext context)
    {
        if (command.RequestId.Length == 0)
        {
            command.RequestId = context.RequestHeaders.GetValue(RequestIdHeader) ?? Guid.NewGuid().ToString("N");
        }

        if (MetaValidation.RequestId(command.RequestId) is { } error)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        }

        using CancellationTokenSource timeout = Timeout(context);
        MetaResult<CommandOutcome> result = await Guard(() => Node.ProposeAsync(command, timeout.Token), context, timeout);
        Check(result.Status, result.LeaderHint);
        if (!result.Value.IsOk)
        {
            throw new RpcException(new Status(result.Value.Code, result.Value.Message));
        }

        return result.Value;
    }

    /// <summary>A linearizable read (leader only).</summary>
    public async Task<T> ReadAsync<T>(Func<MetaStateMachine, T> read, ServerCallContext context)
    {
        using CancellationTokenSource timeout = Timeout(context);
        MetaResult<T> result = await Guard(() => Node.ReadAsync(read, timeout.Token), context, timeout);
        Check(result.Status, result.LeaderHint);
        return result.Value!;
    }

    /// <summary>A read of the local state (any member; may trail the leader).</summary>
    public async Task<T> QueryAsync<T>(Func<MetaStateMachine, T> query, ServerCallContext context)
    {
        using CancellationTokenSource timeout = Timeout(context);
        MetaResult<T> result = await Guard(() => Node.QueryAsync(query, timeout.Token), context, timeout);
        Check(result.Status, result.LeaderHint);
        return result.Value!;
    }

    /// <summary>Ends the call unless this member leads (for calls that must reach the leader without a log entry).</summary>
    public void RequireLeader()
    {
        if (Node.LeaderId != Node.Id)
        {
            Check(MetaCallStatus.NotLeader, Node.LeaderId);
        }
    }

    /// <summary>Turns a missing resource into NOT_FOUND with a message.</summary>
    public static T Found<T>(T? value, string message)
        where T : class => value ?? throw new RpcException(new Status(StatusCode.NotFound, message));

    /// <summary>Ends the call with INVALID_ARGUMENT when <paramref name="error"/> is set.</summary>
    public static void Valid(string? error)
    {
        if (error is not null)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        }
    }

    private static CancellationTokenSource Timeout(ServerCallContext context)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        source.CancelAfter(DefaultCallTimeout);
        return source;
    }

    private static async Task<T> Guard<T>(Func<Task<T>> call, ServerCallContext context, CancellationTokenSource timeout)
    {
        try
        {
            return await call();
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw context.CancellationToken.IsCancellationRequested
                ? new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled"))
                : new RpcException(new Status(StatusCode.Unavailable, "the meta group did not answer in time (no quorum?); retry"));
        }
    }

    /// <summary>Ends the call with the status that matches a non-Ok host result (leader hint in trailers).</summary>
    public void Check(MetaCallStatus status, ulong leaderHint)
    {
        switch (status)
        {
            case MetaCallStatus.Ok:
                return;
            case MetaCallStatus.NotLeader:
                var trailers = new Metadata();
                string detail = "not the meta leader; no leader is known yet, retry shortly";
                if (leaderHint != 0 && leaderHint != Node.Id)
                {
                    trailers.Add(LeaderIdTrailer, leaderHint.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    if (peerAddresses.TryGetValue(leaderHint, out string? address))
                    {
                        trailers.Add(LeaderAddressTrailer, address);
                        detail = $"not the meta leader; the leader is member {leaderHint} at {address}";
                    }
                }

                throw new RpcException(new Status(StatusCode.Unavailable, detail), trailers);
            case MetaCallStatus.OutcomeUnknown:
                throw new RpcException(new Status(StatusCode.Unavailable, "meta leadership changed while the request was in flight; retry with the same request id"));
            default:
                throw new RpcException(new Status(StatusCode.Unavailable, "this meta member is stopping; retry on another"));
        }
    }
}
