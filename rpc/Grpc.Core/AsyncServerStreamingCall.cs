namespace Grpc.Core;

/// <summary>A started server-streaming call: read <see cref="ResponseStream"/>.</summary>
public sealed class AsyncServerStreamingCall<TResponse> : IDisposable
{
    private readonly Func<object, Status> getStatusFunc;
    private readonly Func<object, Metadata> getTrailersFunc;
    private readonly Action<object> disposeAction;
    private readonly object state;

    /// <summary>Creates the call from closures.</summary>
    public AsyncServerStreamingCall(IAsyncStreamReader<TResponse> responseStream, Task<Metadata> responseHeadersAsync, Func<Status> getStatusFunc, Func<Metadata> getTrailersFunc, Action disposeAction)
        : this(responseStream, responseHeadersAsync, static s => ((CallFuncs)s).Status(), static s => ((CallFuncs)s).Trailers(), static s => ((CallFuncs)s).Dispose(), new CallFuncs(getStatusFunc, getTrailersFunc, disposeAction))
    {
    }

    /// <summary>Creates the call from static functions over one state object.</summary>
    public AsyncServerStreamingCall(IAsyncStreamReader<TResponse> responseStream, Task<Metadata> responseHeadersAsync, Func<object, Status> getStatusFunc, Func<object, Metadata> getTrailersFunc, Action<object> disposeAction, object state)
    {
        ResponseStream = responseStream;
        ResponseHeadersAsync = responseHeadersAsync;
        this.getStatusFunc = getStatusFunc;
        this.getTrailersFunc = getTrailersFunc;
        this.disposeAction = disposeAction;
        this.state = state;
    }

    /// <summary>The response stream.</summary>
    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    /// <summary>The response headers.</summary>
    public Task<Metadata> ResponseHeadersAsync { get; }

    /// <summary>The final status; only valid after the stream ended.</summary>
    public Status GetStatus() => getStatusFunc(state);

    /// <summary>The trailers; only valid after the stream ended.</summary>
    public Metadata GetTrailers() => getTrailersFunc(state);

    /// <summary>Cancels the call if it is still running and frees its resources.</summary>
    public void Dispose() => disposeAction(state);
}
