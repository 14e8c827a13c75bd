using Grpc.Core;

namespace Sds.Rpc.Client;

/// <summary>Starts calls on a <see cref="GrpcChannel"/>; each call is one <see cref="ClientCall{TRequest, TResponse}"/>.</summary>
internal sealed class HttpCallInvoker(GrpcChannel channel) : CallInvoker
{
    /// <inheritdoc />
    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        // Generated stubs expose synchronous forms, and this is how they are served. SdsTarget code uses the async
        // forms only; this blocks a thread for the whole call and must stay off every hot path.
        using var call = AsyncUnaryCall(method, host, options, request);
        return call.ResponseAsync.GetAwaiter().GetResult();
    }

    /// <inheritdoc />
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var call = new ClientCall<TRequest, TResponse>(channel, method, options);
        call.StartWithRequest(request);
        return new AsyncUnaryCall<TResponse>(call.ReceiveSingleResponseAsync(), call.ResponseHeadersTask, ClientCallFunctions.GetStatus, ClientCallFunctions.GetTrailers, ClientCallFunctions.Dispose, call);
    }

    /// <inheritdoc />
    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var call = new ClientCall<TRequest, TResponse>(channel, method, options);
        call.StartWithRequest(request);
        return new AsyncServerStreamingCall<TResponse>(call, call.ReceiveHeadersForStreamingAsync(), ClientCallFunctions.GetStatus, ClientCallFunctions.GetTrailers, ClientCallFunctions.Dispose, call);
    }

    /// <inheritdoc />
    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
    {
        var call = new ClientCall<TRequest, TResponse>(channel, method, options);
        call.StartStreaming();
        return new AsyncClientStreamingCall<TRequest, TResponse>(call, call.ReceiveSingleResponseAsync(), call.ResponseHeadersTask, ClientCallFunctions.GetStatus, ClientCallFunctions.GetTrailers, ClientCallFunctions.Dispose, call);
    }

    /// <inheritdoc />
    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
    {
        var call = new ClientCall<TRequest, TResponse>(channel, method, options);
        call.StartStreaming();
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(call, call, call.ReceiveHeadersForStreamingAsync(), ClientCallFunctions.GetStatus, ClientCallFunctions.GetTrailers, ClientCallFunctions.Dispose, call);
    }
}
