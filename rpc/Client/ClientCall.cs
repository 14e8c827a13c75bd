using System.Runtime.CompilerServices;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;
using Sds.Rpc.Framing;
using Sds.Rpc.Tracing;

namespace Sds.Rpc.Client;

/// <summary>
/// One client call over one HTTP/2 stream, for all four method shapes. It is the request writer and the response
/// reader of the call at once, which keeps streaming calls at one object.
/// The call ends exactly once, in <see cref="Finish"/>: from the read path (trailers, framing error, transport
/// error), from a write failure, or from a local cancellation (caller token, deadline timer, dispose). Whoever
/// finishes first decides the status; everyone else observes it.
/// </summary>
internal sealed class ClientCall<TRequest, TResponse> : IClientCall, IClientStreamWriter<TRequest>, IAsyncStreamReader<TResponse>, IFrameSink
    where TRequest : class
    where TResponse : class
{
    private static readonly Task<bool> TrueTask = Task.FromResult(true);
    private static readonly Task<bool> FalseTask = Task.FromResult(false);

    private readonly GrpcChannel channel;
    private readonly Method<TRequest, TResponse> method;
    private readonly CallOptions options;
    private readonly CancellationTokenSource callCancellation = new();
    private readonly TaskCompletionSource<Metadata> headersSource = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock gate = new();
    private CancellationTokenRegistration callerRegistration;
    private CancellationTokenRegistration parentRegistration;
    private ITimer? deadlineTimer;
    private int cancelReason;
    private Activity? activity;
    private long startTimestamp;
    private HttpRequestMessage? request;
    private Task<HttpResponseMessage>? sendTask;
    private Task<bool>? headersTask;
    private HttpResponseMessage? response;
    private PipeReader? responsePipe;
    private FrameStreamReader<TResponse>? responseReader;
    private StreamingRequestContent? requestContent;
    private FrameSerializationContext? serializer;
    private FrameWritePump? pump;
    private bool requestCompleted;
    private bool writePending;
    private bool readPending;
    private CallOutcome? outcome;

    /// <summary>
    /// One serialization context per thread for unary requests: serialization is synchronous, so a thread never
    /// needs two at once, and unary calls stop paying for a context each. Its scratch buffer lives with the thread.
    /// </summary>
    [ThreadStatic]
    private static FrameSerializationContext? UnarySerializer;

    public ClientCall(GrpcChannel channel, Method<TRequest, TResponse> method, CallOptions options)
    {
        this.channel = channel;
        this.method = method;
        this.options = options;
    }

    /// <inheritdoc />
    public TResponse Current => responseReader is null ? default! : responseReader.Current;

    /// <inheritdoc />
    public WriteOptions? WriteOptions { get; set; }

    /// <summary>The response headers (faults if the call fails before they arrive).</summary>
    public Task<Metadata> ResponseHeadersTask => headersSource.Task;

    /// <summary>Starts a unary or server-streaming call with its one request.</summary>
    public void StartWithRequest(TRequest message) => Start(message);

    /// <summary>Starts a client- or bidi-streaming call.</summary>
    public void StartStreaming() => Start(null);

    /// <summary>Runs a unary or client-streaming call to its single response.</summary>
    public async Task<TResponse> ReceiveSingleResponseAsync()
    {
        if (await EnsureHeadersTask().ConfigureAwait(false))
        {
            var first = await ReadOutcomeAsync(CancellationToken.None).ConfigureAwait(false);
            if (first == FrameReadOutcome.Message)
            {
                var message = responseReader!.Current;
                var second = await ReadOutcomeAsync(CancellationToken.None).ConfigureAwait(false);
                if (second == FrameReadOutcome.EndOfStream)
                {
                    var (status, trailers) = ReadTrailerStatus();
                    Finish(status, trailers);
                    // A cancel that raced the trailers may have ended the call first; its status is the truth.
                    if (outcome!.Status.StatusCode == StatusCode.OK)
                    {
                        return message;
                    }
                }
                else if (second == FrameReadOutcome.Message)
                {
                    FailLocally(new Status(StatusCode.Internal, "A unary response carried more than one message."));
                }
                else
                {
                    FinishFromReadOutcome(second);
                }
            }
            else if (first == FrameReadOutcome.EndOfStream)
            {
                var (status, trailers) = ReadTrailerStatus();
                // PROTOCOL-HTTP2: an OK unary response must carry exactly one message.
                Finish(status.StatusCode == StatusCode.OK ? new Status(StatusCode.Internal, "Failed to deserialize response message: no message in an OK response.") : status, trailers);
            }
            else
            {
                FinishFromReadOutcome(first);
            }
        }

        var final = outcome!;
        throw new RpcException(final.Status, final.Trailers);
    }

    /// <summary>Response headers for streaming calls: awaiting them also starts reading the response.</summary>
    public Task<Metadata> ReceiveHeadersForStreamingAsync()
    {
        var headers = ReceiveHeadersCoreAsync();
        // Callers often never look at the headers; a failed call must not leave an unobserved faulted task.
        headers.ContinueWith(static task => _ = task.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return headers;
    }

    private async Task<Metadata> ReceiveHeadersCoreAsync()
    {
        await EnsureHeadersTask().ConfigureAwait(false);
        return await headersSource.Task.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        var finished = outcome;
        if (finished is not null)
        {
            return finished.Status.StatusCode == StatusCode.OK ? FalseTask : Task.FromException<bool>(new RpcException(finished.Status, finished.Trailers));
        }

        // Reads are single-reader by contract (one MoveNext at a time), so the flag needs no lock.
        if (readPending)
        {
            return Task.FromException<bool>(new InvalidOperationException("Can't read the next message because the previous read is still in progress."));
        }

        readPending = true;

        var buffered = FrameReadOutcome.NeedMoreData;
        if (responseReader is not null)
        {
            // A burst of messages is usually already buffered: take it without an async state machine.
            buffered = responseReader.TryReadBuffered();
            if (buffered == FrameReadOutcome.Message)
            {
                readPending = false;
                return TrueTask;
            }
        }

        return MoveNextSlowAsync(buffered, cancellationToken);
    }

    /// <inheritdoc />
    public Task WriteAsync(TRequest message) => WriteAsync(message, CancellationToken.None);

    /// <inheritdoc />
    public Task WriteAsync(TRequest message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (gate)
        {
            var finished = outcome;
            if (finished is not null)
            {
                return finished.Status.StatusCode == StatusCode.OK
                    ? Task.FromException(new InvalidOperationException("Can't write the message because the call is complete."))
                    : Task.FromException(new RpcException(finished.Status, finished.Trailers));
            }

            if (requestCompleted)
            {
                return Task.FromException(new InvalidOperationException("Can't write the message because the request stream is complete."));
            }

            if (writePending)
            {
                return Task.FromException(new InvalidOperationException("Can't write the message because the previous write is still in progress."));
            }

            writePending = true;
        }

        serializer ??= new FrameSerializationContext();
        var status = pump!.Enqueue(serializer, method.RequestMarshaller.ContextualSerializer, message, channel.MaxSendMessageBytes, out var failed);
        if (failed is not null)
        {
            EndWrite();
            return WriteFailedAsync(failed);
        }

        if (status == FrameWriteStatus.TooLarge)
        {
            EndWrite();
            FailLocally(new Status(StatusCode.ResourceExhausted, $"Sending message exceeds the maximum configured message size ({serializer.LastPayloadBytes} > {channel.MaxSendMessageBytes} bytes)."));
            return Task.FromException(new RpcException(outcome!.Status, outcome.Trailers));
        }

        var space = pump.WaitForSpaceAsync();
        if (space.IsCompletedSuccessfully)
        {
            EndWrite();
            return Task.CompletedTask;
        }

        return AwaitSpaceAsync(space, cancellationToken);
    }

    /// <inheritdoc />
    public Task CompleteAsync()
    {
        lock (gate)
        {
            if (requestCompleted)
            {
                return Task.CompletedTask;
            }

            if (writePending)
            {
                return Task.FromException(new InvalidOperationException("Can't complete the request stream while a write is in progress."));
            }

            requestCompleted = true;
        }

        var drain = pump?.DrainAsync() ?? Task.CompletedTask;
        if (drain.IsCompletedSuccessfully)
        {
            requestContent?.Complete();
            return Task.CompletedTask;
        }

        // Half-close does not wait for the queue to drain: a caller that completes and then reads must not
        // deadlock against HTTP/2 flow control while the server waits for it to read. END_STREAM follows the
        // last queued message.
        _ = CompleteAfterDrainAsync(drain);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    ValueTask IFrameSink.SendBatchAsync(ReadOnlyMemory<byte> batch) => SendBatchAsync(batch);

    /// <inheritdoc />
    public Status GetStatus() => outcome?.Status ?? throw new InvalidOperationException("Unable to get the status because the call is not complete.");

    /// <inheritdoc />
    public Metadata GetTrailers() => outcome?.Trailers ?? throw new InvalidOperationException("Can't get the call trailers because the call has not completed.");

    /// <inheritdoc />
    public void Dispose() => Cancel(CancelReason.Disposed);

    private void Start(TRequest? unaryRequest)
    {
        var deadline = options.Deadline;
        var propagation = options.PropagationToken;
        if (propagation?.ParentDeadline is { } parentDeadline && (deadline is null || parentDeadline < deadline))
        {
            deadline = parentDeadline;
        }

        TimeSpan? timeout = null;
        if (deadline is { } d && d != DateTime.MaxValue)
        {
            var remaining = d.ToUniversalTime() - channel.TimeProvider.GetUtcNow().UtcDateTime;
            if (remaining <= TimeSpan.Zero)
            {
                Finish(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), Metadata.Empty);
                return;
            }

            timeout = remaining;
        }

        var ambient = Activity.Current;
        startTimestamp = RpcMetrics.ClientStart();
        activity = RpcTracing.StartClient(method.FullName);
        try
        {
            request = BuildRequest(timeout);
            if (unaryRequest is not null)
            {
                var frame = new PooledBufferWriter();
                var unarySerializer = UnarySerializer ??= new FrameSerializationContext();
                if (unarySerializer.Serialize(method.RequestMarshaller.ContextualSerializer, unaryRequest, frame, channel.MaxSendMessageBytes) == FrameWriteStatus.TooLarge)
                {
                    frame.Dispose();
                    Finish(new Status(StatusCode.ResourceExhausted, $"Sending message exceeds the maximum configured message size ({unarySerializer.LastPayloadBytes} > {channel.MaxSendMessageBytes} bytes)."), Metadata.Empty);
                    return;
                }

                request.Content = new UnaryRequestContent(frame);
            }
            else
            {
                requestContent = new StreamingRequestContent();
                request.Content = requestContent;
                pump = new FrameWritePump(this);
            }

            if (timeout is { } t)
            {
                deadlineTimer = channel.TimeProvider.CreateTimer(static state => ((ClientCall<TRequest, TResponse>)state!).Cancel(CancelReason.Deadline), this, t, Timeout.InfiniteTimeSpan);
            }

            if (options.CancellationToken.CanBeCanceled)
            {
                callerRegistration = options.CancellationToken.UnsafeRegister(static state => ((ClientCall<TRequest, TResponse>)state!).Cancel(CancelReason.User), this);
            }

            if (propagation is not null && propagation.ParentCancellationToken.CanBeCanceled)
            {
                parentRegistration = propagation.ParentCancellationToken.UnsafeRegister(static state => ((ClientCall<TRequest, TResponse>)state!).Cancel(CancelReason.User), this);
            }

            sendTask = options.Credentials is null
                ? channel.Http.SendAsync(request, callCancellation.Token)
                : SendWithCredentialsAsync(request, options.Credentials);
        }
        finally
        {
            // The call's span must not stay current in the caller's flow; the send has already captured it.
            Activity.Current = ambient;
        }
    }

    private HttpRequestMessage BuildRequest(TimeSpan? timeout)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, channel.MethodUri(method.FullName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var headers = message.Headers;
        headers.TryAddWithoutValidation("te", "trailers");
        headers.TryAddWithoutValidation("user-agent", "sds-rpc/1.0");
        if (timeout is { } t)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcProtocol.EncodeTimeout(t));
        }

        if (channel.Authorization is not null)
        {
            headers.TryAddWithoutValidation("authorization", channel.Authorization);
        }

        var traced = activity ?? Activity.Current;
        if (traced is not null && RpcTracing.TraceParentOf(traced) is { } traceParent)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TraceParentHeader, traceParent);
            if (!string.IsNullOrEmpty(traced.TraceStateString))
            {
                headers.TryAddWithoutValidation(GrpcProtocol.TraceStateHeader, traced.TraceStateString);
            }
        }

        if (options.Headers is { } metadata)
        {
            AddMetadata(headers, metadata);
        }

        return message;
    }

    private static void AddMetadata(HttpHeaders headers, Metadata metadata)
    {
        foreach (var entry in metadata)
        {
            if (GrpcProtocol.IsReservedHeader(entry.Key))
            {
                continue;
            }

            headers.TryAddWithoutValidation(entry.Key, entry.IsBinary ? GrpcProtocol.EncodeBinaryValue(entry.ValueBytes) : entry.Value);
        }
    }

    private async Task<HttpResponseMessage> SendWithCredentialsAsync(HttpRequestMessage message, CallCredentials credentials)
    {
        var metadata = new Metadata();
        var context = new AuthInterceptorContext(channel.Address.GetLeftPart(UriPartial.Authority) + "/" + method.ServiceName, method.Name, callCancellation.Token);
        await credentials.AddMetadataAsync(context, metadata).ConfigureAwait(false);
        AddMetadata(message.Headers, metadata);
        return await channel.Http.SendAsync(message, callCancellation.Token).ConfigureAwait(false);
    }

    private Task<bool> EnsureHeadersTask()
    {
        var existing = headersTask;
        if (existing is not null)
        {
            return existing;
        }

        lock (gate)
        {
            return headersTask ??= outcome is not null || sendTask is null ? FalseTask : ReceiveHeadersAsync();
        }
    }

    /// <summary>Waits for the response headers; false if the call ended instead (its outcome is then set).</summary>
    private async Task<bool> ReceiveHeadersAsync()
    {
        HttpResponseMessage received;
        try
        {
            received = await sendTask!.ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            Finish(StatusFromException(exception), Metadata.Empty);
            return false;
        }

        response = received;
        if (outcome is not null)
        {
            // Cancelled while the headers were on their way: the cancel path could not reset a stream it had not seen.
            received.Dispose();
            return false;
        }

        var httpStatus = (int)received.StatusCode;
        if (httpStatus != 200)
        {
            FailLocally(new Status(GrpcProtocol.StatusFromHttp(httpStatus), $"Bad gRPC response. HTTP status code: {httpStatus}"));
            return false;
        }

        var headers = ReadMetadata(received.Headers);
        // PROTOCOL-HTTP2 Trailers-Only: grpc-status arrives in the only HEADERS frame.
        if (TryReadStatus(received.Headers, out var trailersOnlyStatus))
        {
            Finish(trailersOnlyStatus, headers);
            received.Dispose();
            return false;
        }

        if (!received.Content.Headers.NonValidated.TryGetValues("content-type", out var contentTypes) || !GrpcProtocol.IsGrpcContentType(contentTypes.ToString()))
        {
            FailLocally(new Status(StatusCode.Internal, "Bad gRPC response. Invalid content-type value: " + contentTypes.ToString()));
            return false;
        }

        headersSource.TrySetResult(headers);
        try
        {
            var stream = await received.Content.ReadAsStreamAsync(callCancellation.Token).ConfigureAwait(false);
            responsePipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4 * 1024, leaveOpen: false));
            responseReader = new FrameStreamReader<TResponse>(responsePipe, method.ResponseMarshaller.ContextualDeserializer, channel.MaxReceiveMessageBytes);
            return true;
        }
        catch (Exception exception)
        {
            Finish(StatusFromException(exception), Metadata.Empty);
            return false;
        }
    }

    private async Task<bool> MoveNextSlowAsync(FrameReadOutcome buffered, CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((ClientCall<TRequest, TResponse>)state!).Cancel(CancelReason.User), this)
            : default;
        try
        {
            var readOutcome = buffered;
            if (readOutcome == FrameReadOutcome.NeedMoreData)
            {
                if (responseReader is null && !await EnsureHeadersTask().ConfigureAwait(false))
                {
                    return ThrowIfFailed();
                }

                readOutcome = await ReadOutcomeAsync(cancellationToken).ConfigureAwait(false);
            }

            if (readOutcome == FrameReadOutcome.Message)
            {
                return true;
            }

            if (readOutcome == FrameReadOutcome.EndOfStream)
            {
                var (status, trailers) = ReadTrailerStatus();
                Finish(status, trailers);
            }
            else
            {
                FinishFromReadOutcome(readOutcome);
            }

            return ThrowIfFailed();
        }
        finally
        {
            readPending = false;
        }
    }

    private bool ThrowIfFailed()
    {
        var final = outcome!;
        if (final.Status.StatusCode == StatusCode.OK)
        {
            return false;
        }

        throw new RpcException(final.Status, final.Trailers);
    }

    /// <summary>Reads the next frame; a transport failure finishes the call and reads as <see cref="FrameReadOutcome.Truncated"/>.</summary>
    // Per-message path: the pooling builder reuses state machine boxes instead of allocating one per await.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FrameReadOutcome> ReadOutcomeAsync(CancellationToken cancellationToken)
    {
        if (outcome is not null)
        {
            return FrameReadOutcome.Truncated;
        }

        try
        {
            return await responseReader!.ReadAsync(callCancellation.Token).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            Finish(StatusFromException(exception), Metadata.Empty);
            return FrameReadOutcome.Truncated;
        }
    }

    private void FinishFromReadOutcome(FrameReadOutcome readOutcome)
    {
        switch (readOutcome)
        {
            case FrameReadOutcome.TooLarge:
                FailLocally(new Status(StatusCode.ResourceExhausted, $"Received message exceeds the maximum configured message size ({responseReader!.RefusedFrameBytes} > {channel.MaxReceiveMessageBytes} bytes)."));
                break;
            case FrameReadOutcome.Compressed:
                FailLocally(new Status(StatusCode.Internal, "Received a compressed message, but no compression was negotiated."));
                break;
            case FrameReadOutcome.Malformed:
                FailLocally(new Status(StatusCode.Internal, "Received a frame with an invalid compressed flag."));
                break;
            case FrameReadOutcome.Undeserializable:
                FailLocally(new Status(StatusCode.Internal, "Failed to deserialize response message.", responseReader!.DeserializeException));
                break;
            case FrameReadOutcome.Truncated:
                // Either the call already finished (transport error, cancel) or the body ended inside a frame.
                FailLocally(new Status(StatusCode.Internal, "The response ended inside a message."));
                break;
            default:
                throw new UnreachableException("unexpected read outcome " + readOutcome);
        }
    }

    private (Status Status, Metadata Trailers) ReadTrailerStatus()
    {
        var trailers = response!.TrailingHeaders;
        var metadata = ReadMetadata(trailers);
        if (TryReadStatus(trailers, out var status))
        {
            return (status, metadata);
        }

        return (new Status(StatusCode.Internal, "No grpc-status found on response."), metadata);
    }

    private static bool TryReadStatus(HttpHeaders headers, out Status status)
    {
        status = default;
        if (!headers.NonValidated.TryGetValues(GrpcProtocol.StatusHeader, out var statusValues)
            || !GrpcProtocol.TryParseStatus(statusValues.ToString(), out var code))
        {
            return false;
        }

        string? message = null;
        if (headers.NonValidated.TryGetValues(GrpcProtocol.MessageHeader, out var messageValues))
        {
            message = messageValues.ToString();
        }

        status = new Status(code, GrpcProtocol.DecodeMessage(message));
        return true;
    }

    private static Metadata ReadMetadata(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers.NonValidated)
        {
            foreach (var value in header.Value)
            {
                GrpcProtocol.AddReceivedHeader(metadata, header.Key, value);
            }
        }

        return metadata;
    }

    // Per-message path: the pooling builder reuses state machine boxes instead of allocating one per await.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendBatchAsync(ReadOnlyMemory<byte> batch)
    {
        // Only the pump calls this, one batch at a time, so the request stream never sees concurrent writes.
        var stream = await requestContent!.TakeStreamAsync().ConfigureAwait(false);
        await stream.WriteAsync(batch, callCancellation.Token).ConfigureAwait(false);
        await stream.FlushAsync(callCancellation.Token).ConfigureAwait(false);
    }

    private async Task AwaitSpaceAsync(Task space, CancellationToken cancellationToken)
    {
        try
        {
            await space.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Cancel(CancelReason.User);
            ThrowIfFailed();
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            await WriteFailedAsync(exception).ConfigureAwait(false);
        }
        finally
        {
            EndWrite();
        }
    }

    private async Task CompleteAfterDrainAsync(Task drain)
    {
        try
        {
            await drain.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The request stream broke; the response path reports the call's status to the reader.
            return;
        }

        requestContent?.Complete();
    }

    /// <summary>
    /// The request stream broke under a write. The call is not over for that: the server may have ended it on
    /// purpose (e.g. RESOURCE_EXHAUSTED in its trailers), and the response stream still carries that status to
    /// the reader. Only a call that has no response yet is finished here. Always throws.
    /// </summary>
    private async Task WriteFailedAsync(Exception exception)
    {
        if (outcome is null && sendTask is { IsCompleted: true })
        {
            await EnsureHeadersTask().ConfigureAwait(false);
        }

        var final = outcome;
        if (final is not null)
        {
            throw new RpcException(final.Status, final.Trailers);
        }

        if (responseReader is null)
        {
            Finish(StatusFromException(exception), Metadata.Empty);
            ThrowIfFailed();
        }

        throw new RpcException(StatusFromException(exception));
    }

    private void EndWrite()
    {
        lock (gate)
        {
            writePending = false;
            if (outcome is not null)
            {
                ReleaseWriteBuffers();
            }
        }
    }

    private Status StatusFromException(Exception exception)
    {
        var reason = (CancelReason)Volatile.Read(ref cancelReason);
        if (reason == CancelReason.Deadline)
        {
            return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }

        if (reason is CancelReason.User or CancelReason.Disposed)
        {
            return new Status(StatusCode.Cancelled, "Call canceled by the client.");
        }

        var protocolException = exception as HttpProtocolException ?? exception.InnerException as HttpProtocolException;
        if (protocolException is not null)
        {
            return new Status(GrpcProtocol.StatusFromHttp2Error(protocolException.ErrorCode), $"HTTP/2 error from peer (code 0x{protocolException.ErrorCode:x}).", exception);
        }

        return exception switch
        {
            RpcException rpc => rpc.Status,
            HttpRequestException => new Status(StatusCode.Unavailable, "Error starting gRPC call: " + exception.Message, exception),
            IOException or ObjectDisposedException => new Status(StatusCode.Unavailable, "Connection to the server was lost: " + exception.Message, exception),
            // Not cancelled by us: the HTTP stack ended the stream because the peer reset or refused it.
            OperationCanceledException => new Status(StatusCode.Unavailable, "The stream was reset by the transport.", exception),
            _ => new Status(StatusCode.Unknown, "Call failed: " + exception.GetType().Name, exception),
        };
    }

    /// <summary>Ends the call with a locally decided error and resets the stream so the server stops too.</summary>
    private void FailLocally(Status status)
    {
        Finish(status, Metadata.Empty);
        Cancel(CancelReason.Failed);
    }

    /// <summary>Cancels the call: records the reason, ends it with the matching status, and resets the HTTP/2 stream.</summary>
    private void Cancel(CancelReason reason)
    {
        if (Interlocked.CompareExchange(ref cancelReason, (int)reason, (int)CancelReason.None) != (int)CancelReason.None)
        {
            return;
        }

        switch (reason)
        {
            case CancelReason.Deadline:
                Finish(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), Metadata.Empty);
                break;
            case CancelReason.User:
                Finish(new Status(StatusCode.Cancelled, "Call canceled by the client."), Metadata.Empty);
                break;
            case CancelReason.Disposed:
                Finish(new Status(StatusCode.Cancelled, "gRPC call disposed."), Metadata.Empty);
                break;
        }

        callCancellation.Cancel();
        requestContent?.Abort();
        // Disposing the response stream sends RST_STREAM(CANCEL) if the stream is still open.
        response?.Dispose();
    }

    /// <summary>Publishes the outcome once and releases everything that is not in use by a pending read or write.</summary>
    private void Finish(Status status, Metadata trailers)
    {
        var finished = new CallOutcome(status, trailers);
        if (Interlocked.CompareExchange(ref outcome, finished, null) is not null)
        {
            return;
        }

        RpcMetrics.ClientFinished(startTimestamp, method.FullName, status.StatusCode);
        deadlineTimer?.Dispose();
        callerRegistration.Dispose();
        parentRegistration.Dispose();
        if (status.StatusCode == StatusCode.OK)
        {
            headersSource.TrySetResult(trailers);
        }
        else
        {
            headersSource.TrySetException(new RpcException(status, trailers));
            // The headers task may never be awaited; observe the fault so it is not reported as unobserved.
            _ = headersSource.Task.Exception;
        }

        if (activity is not null)
        {
            activity.SetTag("rpc.grpc.status_code", (int)status.StatusCode);
            if (status.StatusCode != StatusCode.OK)
            {
                activity.SetStatus(ActivityStatusCode.Error, status.Detail);
            }

            activity.Stop();
        }

        if (status.StatusCode == StatusCode.OK)
        {
            // The server ended the call; a request stream still open is ended normally.
            requestContent?.Complete();
            response?.Dispose();
        }
        else
        {
            // The call failed (e.g. the connection was refused): HTTP may never ask for the request body, so the write
            // pump must not keep waiting for it — aborting it fails the pump and every writer waiting for buffer space.
            requestContent?.Abort();
        }

        request?.Dispose();
        lock (gate)
        {
            if (!writePending)
            {
                ReleaseWriteBuffers();
            }
        }
    }

    private void ReleaseWriteBuffers()
    {
        serializer?.Dispose();
        serializer = null;
        pump?.Dispose();
    }
}
