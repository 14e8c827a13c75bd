using System.Collections.Concurrent;

namespace Sds.Raft.Transport;

/// <summary>
/// The sending side of Raft over gRPC: one <see cref="RaftPeerConnection"/> (one stream, one bounded queue)
/// per destination node, shared by every group on this node. <see cref="Send"/> never blocks: a message
/// that cannot be queued is dropped and reported to <see cref="IRaftTransportReporter"/> at once.
/// </summary>
/// <remarks>
/// Call <see cref="Send"/> for every message of a Ready cycle (after the cycle's entries are durable, as
/// raft/RaftHost.cs orders it); each peer's pump then writes what queued as one <c>RaftMessageBatch</c>.
/// </remarks>
public sealed class RaftTransportClient : IAsyncDisposable
{
    private readonly RaftTransportOptions options;
    private readonly IRaftPeerAddressBook addressBook;
    private readonly IRaftTransportReporter reporter;
    private readonly ConcurrentDictionary<string, RaftPeerConnection> peers = new(StringComparer.Ordinal);
    private volatile bool disposed;

    /// <summary>Creates a client; streams open lazily on first send to each node.</summary>
    public RaftTransportClient(RaftTransportOptions options, IRaftPeerAddressBook addressBook, IRaftTransportReporter reporter)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.options = options;
        this.addressBook = addressBook;
        this.reporter = reporter;
    }

    /// <summary>
    /// Queues <paramref name="message"/> of group <paramref name="groupId"/> for node <paramref name="toNodeId"/>.
    /// False when it was dropped (queue full, peer down, client disposed); the drop is already reported.
    /// </summary>
    public bool Send(string toNodeId, ulong groupId, ulong groupEpoch, Message message)
    {
        Invariant.Assert(message is not null && message.To != 0, "a message needs a recipient member");
        if (!disposed)
        {
            RaftPeerConnection peer = peers.GetOrAdd(toNodeId, static (id, self) => new RaftPeerConnection(id, self.options, self.addressBook, self.reporter), this);
            if (peer.TryEnqueue(new RaftOutboundMessage(groupId, groupEpoch, message)))
            {
                return true;
            }
        }

        reporter.ReportUnreachable(groupId, message.To);
        if (message.Type == MessageType.Snapshot)
        {
            reporter.ReportSnapshot(groupId, message.To, failed: true);
        }

        return false;
    }

    /// <summary>Messages accepted by streams and dropped, summed over peers (for metrics and tests).</summary>
    public (long Sent, long Dropped) Counters()
    {
        long sent = 0;
        long dropped = 0;
        foreach (RaftPeerConnection peer in peers.Values)
        {
            sent += Interlocked.Read(ref peer.MessagesSent);
            dropped += Interlocked.Read(ref peer.MessagesDropped);
        }

        return (sent, dropped);
    }

    /// <summary>Closes every stream; queued messages are discarded.</summary>
    public async ValueTask DisposeAsync()
    {
        disposed = true;
        foreach (RaftPeerConnection peer in peers.Values)
        {
            await peer.DisposeAsync().ConfigureAwait(false);
        }

        peers.Clear();
    }
}
