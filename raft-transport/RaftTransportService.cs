using Grpc.Core;
using Sds.Proto.V1;

namespace Sds.Raft.Transport;

/// <summary>
/// The receiving side of <c>sds.v1.RaftTransport</c>: reads batches from a peer's stream and delivers every
/// <see cref="GroupMessage"/> to the <see cref="IRaftMessageHandler"/>. Malformed messages, unknown groups
/// and stale epochs are dropped and counted, never fatal: Raft retransmits (Raft §5.3).
/// </summary>
public sealed class RaftTransportService : RaftTransport.RaftTransportBase
{
    private readonly string localNodeId;
    private readonly IRaftMessageHandler handler;
    private long messagesDelivered;
    private long messagesDropped;

    /// <summary>Creates the service for node <paramref name="localNodeId"/>.</summary>
    public RaftTransportService(string localNodeId, IRaftMessageHandler handler)
    {
        Invariant.Assert(!string.IsNullOrEmpty(localNodeId) && handler is not null, "node id and handler required");
        this.localNodeId = localNodeId;
        this.handler = handler;
    }

    /// <summary>Messages handed to the handler and accepted.</summary>
    public long MessagesDelivered => Interlocked.Read(ref messagesDelivered);

    /// <summary>Messages dropped (malformed, refused by the handler).</summary>
    public long MessagesDropped => Interlocked.Read(ref messagesDropped);

    /// <inheritdoc/>
    public override async Task<RaftSendResponse> Send(IAsyncStreamReader<RaftMessageBatch> requestStream, ServerCallContext context)
    {
        ulong batches = 0;
        ulong dropped = 0;
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            RaftMessageBatch batch = requestStream.Current;
            if (!string.Equals(batch.ToNodeId, localNodeId, StringComparison.Ordinal))
            {
                // A sender with a stale address book reached the wrong node: end its stream so it re-resolves.
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"this is node '{localNodeId}', not '{batch.ToNodeId}'"));
            }

            batches++;
            foreach (GroupMessage groupMessage in batch.Messages)
            {
                if (groupMessage.Message is { } wire && RaftMessageCodec.TryFromProto(wire, out Message? message) &&
                    handler.Deliver(groupMessage.GroupId, groupMessage.GroupEpoch, message))
                {
                    Interlocked.Increment(ref messagesDelivered);
                    continue;
                }

                dropped++;
                Interlocked.Increment(ref messagesDropped);
            }
        }

        return new RaftSendResponse { BatchesReceived = batches, MessagesDropped = dropped };
    }
}
