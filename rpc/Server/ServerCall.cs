using System.Runtime.CompilerServices;
using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Sds.Rpc.Framing;

namespace Sds.Rpc.Server;

/// <summary>
/// One server call over one HTTP/2 stream: the <see cref="ServerCallContext"/>, the request reader and the response
/// writer at once, so a streaming call costs one object. Owner: the method handler that created it, which calls
/// <see cref="EndAsync"/> then <see cref="Dispose"/> exactly once.
/// </summary>
internal sealed class ServerCall<TRequest, TResponse> : ServerCallContext, IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, IFrameSink, IDisposable
    where TRequest : class
    where TResponse : class
{
    private static readonly Task<bool> TrueTask = Task.FromResult(true);
    private static readonly Task<bool> FalseTask = Task.FromResult(false);

    private readonly HttpContext http;
    private readonly Method<TRequest, TResponse> method;
    private readonly ServerRuntime runtime;
    private FrameStreamReader<TRequest>? requestReader;
    private FrameSerializationContext? serializer;
    private FrameWritePump? pump;
    private CancellationTokenSource? deadlineCancellation;
    private CancellationTokenSource? linkedCancellation;
    private CancellationToken cancellationToken;
    private DateTime deadline = DateTime.MaxValue;
    private Metadata? requestHeaders;
    private Metadata? responseTrailers;
    private AuthContext? authContext;
    private string? peer;
    private Status status = Status.DefaultSuccess;
    private WriteOptions? writeOptions;
    private bool messageWritten;
    private bool readPending;
    private bool writePending;
    private bool ended;

    public ServerCall(HttpContext http, Method<TRequest, TResponse> method, ServerRuntime runtime)
    {
        this.http = http;
        this.method = method;
        this.runtime = runtime;
        cancellationToken = http.RequestAborted;
    }

    /// <inheritdoc />
    public TRequest Current => requestReader is null ? default! : requestReader.Current;

    /// <inheritdoc />
    WriteOptions? IAsyncStreamWriter<TResponse>.WriteOptions
    {
        get => writeOptions;
        set => writeOptions = value;
    }

    protected override string MethodCore => method.FullName;

    protected override string HostCore => http.Request.Host.Value ?? "";

    protected override string PeerCore => peer ??= FormatPeer(http.Connection.RemoteIpAddress, http.Connection.RemotePort);

    protected override DateTime DeadlineCore => deadline;

    protected override Metadata RequestHeadersCore => requestHeaders ??= ReadRequestHeaders(http.Request.Headers);

    protected override CancellationToken CancellationTokenCore => cancellationToken;

    protected override Metadata ResponseTrailersCore => responseTrailers ??= new Metadata();

    protected override Status StatusCore
    {
        get => status;
        set => status = value;
    }

    protected override WriteOptions? WriteOptionsCore
    {
        get => writeOptions;
        set => writeOptions = value;
    }

    protected override AuthContext AuthContextCore => authContext ??= new AuthContext(null, []);

    /// <summary>Prepares the call from its request headers; false with a status if it must end at once.</summary>
    public bool TryStart(out Status startStatus)
    {
        startStatus = Status.DefaultSuccess;
        var requestHeadersRaw = http.Request.Headers;
        var encoding = requestHeadersRaw[GrpcProtocol.EncodingHeader];
        if (encoding.Count > 0 && !string.Equals(encoding.ToString(), "identity", StringComparison.Ordinal))
        {
            // PROTOCOL-HTTP2: a server that does not support the message encoding answers UNIMPLEMENTED.
            http.Response.Headers[GrpcProtocol.AcceptEncodingHeader] = "identity";
            startStatus = new Status(StatusCode.Unimplemented, $"Unsupported grpc-encoding value '{encoding}'.");
            return false;
        }

        if (GrpcProtocol.TryDecodeTimeout(requestHeadersRaw[GrpcProtocol.TimeoutHeader].ToString(), out var timeout))
        {
            deadline = runtime.TimeProvider.GetUtcNow().UtcDateTime + timeout;
            deadlineCancellation = new CancellationTokenSource(timeout, runtime.TimeProvider);
            linkedCancellation = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, deadlineCancellation.Token);
            cancellationToken = linkedCancellation.Token;
        }

        // A stream has no total size; the per-message limit is the bound that matters.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = null;
        }

        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = GrpcProtocol.ContentType;
        requestReader = new FrameStreamReader<TRequest>(http.Request.BodyReader, method.RequestMarshaller.ContextualDeserializer, runtime.MaxReceiveMessageBytes);
        return true;
    }

    /// <summary>Reads the one request of a unary or server-streaming call.</summary>
    public async Task<TRequest> ReadSingleRequestAsync()
    {
        var outcome = await ReadOutcomeAsync(cancellationToken).ConfigureAwait(false);
        if (outcome == FrameReadOutcome.Message)
        {
            return requestReader!.Current;
        }

        if (outcome == FrameReadOutcome.EndOfStream)
        {
            throw new RpcException(new Status(StatusCode.Internal, "The request stream ended without a message."));
        }

        throw ExceptionFor(outcome);
    }

    /// <inheritdoc />
    public Task<bool> MoveNext(CancellationToken readCancellation)
    {
        if (readPending)
        {
            return Task.FromException<bool>(new InvalidOperationException("Can't read the next message because the previous read is still in progress."));
        }

        var outcome = requestReader!.TryReadBuffered();
        switch (outcome)
        {
            case FrameReadOutcome.Message:
                return TrueTask;
            case FrameReadOutcome.EndOfStream:
                return FalseTask;
            case FrameReadOutcome.NeedMoreData:
                return MoveNextSlowAsync(readCancellation.CanBeCanceled ? readCancellation : cancellationToken);
            default:
                return Task.FromException<bool>(ExceptionFor(outcome));
        }
    }

    /// <inheritdoc />
    public Task WriteAsync(TResponse message) => WriteAsync(message, CancellationToken.None);

    /// <inheritdoc />
    public Task WriteAsync(TResponse message, CancellationToken writeCancellation)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (ended)
        {
            return Task.FromException(new InvalidOperationException("Can't write the message because the call is complete."));
        }

        if (writePending)
        {
            return Task.FromException(new InvalidOperationException("Can't write the message because the previous write is still in progress."));
        }

        // Responses go through the pump, which batches them into few flushes when the handler writes faster
        // than one flush per message; a lone response is still sent at once.
        serializer ??= new FrameSerializationContext();
        pump ??= new FrameWritePump(this);
        var status = pump.Enqueue(serializer, method.ResponseMarshaller.ContextualSerializer, message, runtime.MaxSendMessageBytes, out var failed);
        if (failed is not null)
        {
            return Task.FromException(ClientGone());
        }

        if (status == FrameWriteStatus.TooLarge)
        {
            return Task.FromException(new RpcException(new Status(StatusCode.ResourceExhausted, $"Sending message exceeds the maximum configured message size ({serializer.LastPayloadBytes} > {runtime.MaxSendMessageBytes} bytes).")));
        }

        messageWritten = true;
        var space = pump.WaitForSpaceAsync();
        if (space.IsCompletedSuccessfully)
        {
            return Task.CompletedTask;
        }

        return AwaitSpaceAsync(space, writeCancellation.CanBeCanceled ? writeCancellation : cancellationToken);
    }

    /// <inheritdoc />
    ValueTask IFrameSink.SendBatchAsync(ReadOnlyMemory<byte> batch)
    {
        // Only the pump calls this, one batch at a time: the body writer never sees concurrent use.
        var writer = http.Response.BodyWriter;
        writer.Write(batch.Span);
        var flush = writer.FlushAsync(cancellationToken);
        if (flush.IsCompletedSuccessfully)
        {
            ThrowIfClientGone(flush.Result);
            return default;
        }

        return AwaitBatchFlushAsync(flush);
    }

    /// <summary>Writes the one response of a unary or client-streaming call; it is flushed with the trailers.</summary>
    public Task WriteSingleResponseAsync(TResponse? response)
    {
        if (response is null)
        {
            throw new RpcException(new Status(StatusCode.Internal, "The handler returned no response message."));
        }

        if (!TryWriteFrame(response, out var tooLarge))
        {
            throw tooLarge!;
        }

        return Task.CompletedTask;
    }

    /// <summary>Maps a handler's exception to the status the client sees. Stack traces never leave the process.</summary>
    public Status StatusFromException(Exception exception)
    {
        if (exception is RpcException rpc)
        {
            if (rpc.Trailers.Count > 0)
            {
                foreach (var entry in rpc.Trailers)
                {
                    ResponseTrailersCore.Add(entry);
                }
            }

            return rpc.Status;
        }

        if (deadlineCancellation is { IsCancellationRequested: true })
        {
            return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }

        if (http.RequestAborted.IsCancellationRequested)
        {
            return new Status(StatusCode.Cancelled, "Call canceled by the client.");
        }

        ServerLog.HandlerThrew(runtime.Logger, method.FullName, exception);
        var detail = runtime.EnableDetailedErrors
            ? $"Exception was thrown by handler. {exception.GetType().Name}: {exception.Message}"
            : "Exception was thrown by handler.";
        return new Status(StatusCode.Internal, detail);
    }

    /// <summary>Sends the status: in the trailers, or as Trailers-Only when nothing else was sent.</summary>
    public async Task EndAsync(Status finalStatus)
    {
        ended = true;
        if (pump is not null)
        {
            try
            {
                // Trailers go after every queued response.
                await pump.DrainAsync().ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                // The client is gone; there is nobody to send the status to.
                return;
            }
        }

        if (http.RequestAborted.IsCancellationRequested)
        {
            // The client reset the stream; there is nobody to tell.
            return;
        }

        var response = http.Response;
        if (!response.HasStarted && !messageWritten)
        {
            // PROTOCOL-HTTP2 Trailers-Only: status in the only HEADERS frame, which also ends the stream.
            var headers = response.Headers;
            headers[GrpcProtocol.StatusHeader] = GrpcProtocol.StatusText(finalStatus.StatusCode);
            if (finalStatus.Detail.Length > 0)
            {
                headers[GrpcProtocol.MessageHeader] = GrpcProtocol.EncodeMessage(finalStatus.Detail);
            }

            if (responseTrailers is not null)
            {
                AppendMetadata(headers, responseTrailers);
            }

            return;
        }

        response.AppendTrailer(GrpcProtocol.StatusHeader, GrpcProtocol.StatusText(finalStatus.StatusCode));
        if (finalStatus.Detail.Length > 0)
        {
            response.AppendTrailer(GrpcProtocol.MessageHeader, GrpcProtocol.EncodeMessage(finalStatus.Detail));
        }

        if (responseTrailers is not null)
        {
            foreach (var entry in responseTrailers)
            {
                if (!GrpcProtocol.IsReservedHeader(entry.Key))
                {
                    response.AppendTrailer(entry.Key, entry.IsBinary ? GrpcProtocol.EncodeBinaryValue(entry.ValueBytes) : entry.Value);
                }
            }
        }
    }

    /// <summary>Releases the call's pooled buffers and timers.</summary>
    public void Dispose()
    {
        pump?.Dispose();
        serializer?.Dispose();
        serializer = null;
        linkedCancellation?.Dispose();
        deadlineCancellation?.Dispose();
    }

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders)
    {
        if (http.Response.HasStarted || messageWritten)
        {
            return Task.FromException(new InvalidOperationException("Response headers can only be sent once per call, before the first message."));
        }

        AppendMetadata(http.Response.Headers, responseHeaders);
        return http.Response.StartAsync(cancellationToken);
    }

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options)
    {
        options ??= ContextPropagationOptions.Default;
        return new ServerPropagationToken(
            options.IsPropagateDeadline && deadline != DateTime.MaxValue ? deadline : null,
            options.IsPropagateCancellation ? cancellationToken : CancellationToken.None);
    }

    private bool TryWriteFrame(TResponse message, out RpcException? tooLarge)
    {
        serializer ??= new FrameSerializationContext();
        if (serializer.Serialize(method.ResponseMarshaller.ContextualSerializer, message, http.Response.BodyWriter, runtime.MaxSendMessageBytes) == FrameWriteStatus.TooLarge)
        {
            tooLarge = new RpcException(new Status(StatusCode.ResourceExhausted, $"Sending message exceeds the maximum configured message size ({serializer.LastPayloadBytes} > {runtime.MaxSendMessageBytes} bytes)."));
            return false;
        }

        messageWritten = true;
        tooLarge = null;
        return true;
    }

    private static void ThrowIfClientGone(System.IO.Pipelines.FlushResult result)
    {
        if (result.IsCanceled || result.IsCompleted)
        {
            // The transport stopped taking output: the client is gone.
            throw new IOException("The client stopped reading the response.");
        }
    }

    // Per-message path: the pooling builder reuses state machine boxes instead of allocating one per await.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask AwaitBatchFlushAsync(ValueTask<System.IO.Pipelines.FlushResult> flush)
    {
        ThrowIfClientGone(await flush.ConfigureAwait(false));
    }

    private RpcException ClientGone() => deadlineCancellation is { IsCancellationRequested: true }
        ? new RpcException(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"))
        : new RpcException(new Status(StatusCode.Cancelled, "The client stopped reading the response."));

    private async Task AwaitSpaceAsync(Task space, CancellationToken writeCancellation)
    {
        writePending = true;
        try
        {
            await space.WaitAsync(writeCancellation).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw ClientGone();
        }
        finally
        {
            writePending = false;
        }
    }

    private async Task<bool> MoveNextSlowAsync(CancellationToken readCancellation)
    {
        readPending = true;
        try
        {
            var outcome = await ReadOutcomeAsync(readCancellation).ConfigureAwait(false);
            return outcome switch
            {
                FrameReadOutcome.Message => true,
                FrameReadOutcome.EndOfStream => false,
                _ => throw ExceptionFor(outcome),
            };
        }
        finally
        {
            readPending = false;
        }
    }

    // Per-message path: the pooling builder reuses state machine boxes instead of allocating one per await.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FrameReadOutcome> ReadOutcomeAsync(CancellationToken readCancellation)
    {
        try
        {
            return await requestReader!.ReadAsync(readCancellation).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or BadHttpRequestException or ObjectDisposedException or InvalidOperationException)
        {
            // The request stream is gone: reset by the client, cut by the deadline, or the connection dropped.
            var why = deadlineCancellation is { IsCancellationRequested: true }
                ? new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded")
                : new Status(StatusCode.Cancelled, "The request stream was cancelled.");
            throw new RpcException(why);
        }
    }

    private RpcException ExceptionFor(FrameReadOutcome outcome) => outcome switch
    {
        FrameReadOutcome.TooLarge => new RpcException(new Status(StatusCode.ResourceExhausted, $"Received message exceeds the maximum configured message size ({requestReader!.RefusedFrameBytes} > {runtime.MaxReceiveMessageBytes} bytes).")),
        FrameReadOutcome.Compressed => new RpcException(new Status(StatusCode.Internal, "Received a compressed message, but no compression was negotiated.")),
        FrameReadOutcome.Malformed => new RpcException(new Status(StatusCode.Internal, "Received a frame with an invalid compressed flag.")),
        FrameReadOutcome.Truncated => new RpcException(new Status(StatusCode.Internal, "The request ended inside a message.")),
        FrameReadOutcome.Undeserializable => new RpcException(new Status(StatusCode.Internal, "Failed to deserialize the request message.")),
        _ => new RpcException(new Status(StatusCode.Internal, "Unexpected read outcome " + outcome + ".")),
    };

    private static Metadata ReadRequestHeaders(IHeaderDictionary headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers)
        {
            foreach (var value in header.Value)
            {
                if (value is not null)
                {
                    GrpcProtocol.AddReceivedHeader(metadata, header.Key, value);
                }
            }
        }

        return metadata;
    }

    private static void AppendMetadata(IHeaderDictionary headers, Metadata metadata)
    {
        foreach (var entry in metadata)
        {
            if (GrpcProtocol.IsReservedHeader(entry.Key))
            {
                continue;
            }

            var value = entry.IsBinary ? GrpcProtocol.EncodeBinaryValue(entry.ValueBytes) : entry.Value;
            headers.Append(entry.Key, value);
        }
    }

    private static string FormatPeer(IPAddress? address, int port)
    {
        if (address is null)
        {
            return "unknown";
        }

        return address.AddressFamily == AddressFamily.InterNetworkV6
            ? $"ipv6:[{address}]:{port}"
            : $"ipv4:{address}:{port}";
    }
}
