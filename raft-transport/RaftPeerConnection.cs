using System.Threading.Channels;
using Grpc.Core;
using Sds.Proto.V1;
using Sds.Rpc;

namespace Sds.Raft.Transport;

/// <summary>
/// One destination node: a bounded queue of messages from every group and a pump that keeps one
/// <c>RaftTransport.Send</c> client stream open and writes whatever has queued as one batch. While a
/// batch is on the wire new messages pile up and go out together in the next one, so a Ready cycle of
/// many groups costs one write per destination (TiKV raftstore's per-store batching).
/// </summary>
/// <remarks>
/// Delivery is best-effort by design: Raft tolerates loss and reordering (Raft §5.3: the leader retries
/// AppendEntries indefinitely; heartbeats repeat). When the queue is full, or the stream broke and the
/// backoff has not passed, a message is dropped and reported through <see cref="IRaftTransportReporter"/>
/// so the sender's Raft node probes that follower again instead of pipelining into the void.
/// </remarks>
internal sealed class RaftPeerConnection : IAsyncDisposable
{
    private readonly string nodeId;
    private readonly RaftTransportOptions options;
    private readonly IRaftPeerAddressBook addressBook;
    private readonly IRaftTransportReporter reporter;
    private readonly Channel<RaftOutboundMessage> queue;
    private readonly CancellationTokenSource stopping = new();
    private readonly List<RaftOutboundMessage> inFlight;
    private readonly Task pump;
    private GrpcChannel? channel;
    private string? channelAddress;
    private AsyncClientStreamingCall<RaftMessageBatch, RaftSendResponse>? call;
    private ulong sequence;

    // 0 = up (or untried), 1 = down until the backoff passes. Read by senders without a lock.
    private volatile int down;

    public RaftPeerConnection(string nodeId, RaftTransportOptions options, IRaftPeerAddressBook addressBook, IRaftTransportReporter reporter)
    {
        this.nodeId = nodeId;
        this.options = options;
        this.addressBook = addressBook;
        this.reporter = reporter;
        inFlight = new List<RaftOutboundMessage>(options.MaxBatchMessages);
        queue = Channel.CreateBounded<RaftOutboundMessage>(new BoundedChannelOptions(options.PeerQueueCapacityMessages)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        pump = PumpAsync(stopping.Token);
    }

    /// <summary>Messages sent in batches that the stream accepted.</summary>
    public long MessagesSent;

    /// <summary>Messages dropped (queue full, peer down, stream broke).</summary>
    public long MessagesDropped;

    /// <summary>Queues a message; false (caller reports) when the queue is full or the peer is down.</summary>
    public bool TryEnqueue(in RaftOutboundMessage message)
    {
        if (down != 0 || !queue.Writer.TryWrite(message))
        {
            Interlocked.Increment(ref MessagesDropped);
            return false;
        }

        return true;
    }

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            while (await queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var batch = new RaftMessageBatch { FromNodeId = options.LocalNodeId, ToNodeId = nodeId, Sequence = ++sequence };
                inFlight.Clear();
                while (inFlight.Count < options.MaxBatchMessages && queue.Reader.TryRead(out RaftOutboundMessage next))
                {
                    inFlight.Add(next);
                    batch.Messages.Add(new GroupMessage { GroupId = next.GroupId, GroupEpoch = next.GroupEpoch, Message = RaftMessageCodec.ToProto(next.Message) });
                }

                if (await TryWriteAsync(batch).ConfigureAwait(false))
                {
                    Interlocked.Add(ref MessagesSent, inFlight.Count);
                    ReportSnapshots(failed: false);
                    continue;
                }

                // The stream broke: everything in this batch and everything queued is lost. Report it, stay
                // "down" for one backoff so senders fail fast instead of filling the queue, then try again.
                down = 1;
                ReportDropped(inFlight);
                while (queue.Reader.TryRead(out RaftOutboundMessage queued))
                {
                    ReportDropped(queued);
                }

                await Task.Delay(options.ReconnectBackoff, options.TimeProvider, cancellationToken).ConfigureAwait(false);
                down = 0;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposal: the queue's remaining messages die with the connection.
        }
        finally
        {
            BreakStream();
            channel?.Dispose();
        }
    }

    private async Task<bool> TryWriteAsync(RaftMessageBatch batch)
    {
        if (call is { ResponseAsync.IsCompleted: true })
        {
            // The receiver ended the stream (restart, or it refused us); open a fresh one.
            BreakStream();
        }

        if (call is null && !TryOpenStream())
        {
            return false;
        }

        try
        {
            await call!.RequestStream.WriteAsync(batch).ConfigureAwait(false);
            return true;
        }
        catch (Exception exception) when (exception is RpcException or InvalidOperationException or IOException or HttpRequestException)
        {
            // The transport edge (STYLE.md "Errors"): a broken stream is an operating error, reported as a value.
            BreakStream();
            return false;
        }
    }

    private bool TryOpenStream()
    {
        if (!addressBook.TryGetAddress(nodeId, out string? address))
        {
            return false;
        }

        if (channel is null || channelAddress != address)
        {
            channel?.Dispose();
            channel = GrpcChannel.ForAddress(address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address, new GrpcChannelOptions
            {
                BearerToken = options.BearerToken,
                MaxSendMessageSize = options.MaxSendMessageSizeBytes,
                ConnectTimeout = TimeSpan.FromSeconds(1),
            });
            channelAddress = address;
        }

        call = new RaftTransport.RaftTransportClient(channel).Send(cancellationToken: stopping.Token);
        return true;
    }

    private void BreakStream()
    {
        if (call is not null)
        {
            call.Dispose();
            call = null;
        }
    }

    private void ReportSnapshots(bool failed)
    {
        foreach (RaftOutboundMessage sent in inFlight)
        {
            if (sent.Message.Type == MessageType.Snapshot)
            {
                reporter.ReportSnapshot(sent.GroupId, sent.Message.To, failed);
            }
        }
    }

    private void ReportDropped(List<RaftOutboundMessage> messages)
    {
        foreach (RaftOutboundMessage message in messages)
        {
            ReportDropped(message);
        }
    }

    private void ReportDropped(in RaftOutboundMessage message)
    {
        Interlocked.Increment(ref MessagesDropped);
        reporter.ReportUnreachable(message.GroupId, message.Message.To);
        if (message.Message.Type == MessageType.Snapshot)
        {
            reporter.ReportSnapshot(message.GroupId, message.Message.To, failed: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await stopping.CancelAsync().ConfigureAwait(false);
        await pump.ConfigureAwait(false);
        stopping.Dispose();
    }
}
