using System.Runtime.CompilerServices;

namespace Grpc.Core;

/// <summary>A started unary call: await it for the response.</summary>
public sealed class AsyncUnaryCall<TResponse> : IDisposable
{
    private readonly Func<object, Status> getStatusFunc;
    private readonly Func<object, Metadata> getTrailersFunc;
    private readonly Action<object> disposeAction;
    private readonly object state;

    /// <summary>Creates the call from closures.</summary>
    public AsyncUnaryCall(Task<TResponse> responseAsync, Task<Metadata> responseHeadersAsync, Func<Status> getStatusFunc, Func<Metadata> getTrailersFunc, Action disposeAction)
        : this(responseAsync, responseHeadersAsync, static s => ((CallFuncs)s).Status(), static s => ((CallFuncs)s).Trailers(), static s => ((CallFuncs)s).Dispose(), new CallFuncs(getStatusFunc, getTrailersFunc, disposeAction))
    {
    }

    /// <summary>Creates the call from static functions over one state object (no closures).</summary>
    public AsyncUnaryCall(Task<TResponse> responseAsync, Task<Metadata> responseHeadersAsync, Func<object, Status> getStatusFunc, Func<object, Metadata> getTrailersFunc, Action<object> disposeAction, object state)
    {
        ResponseAsync = responseAsync;
        ResponseHeadersAsync = responseHeadersAsync;
        this.getStatusFunc = getStatusFunc;
        this.getTrailersFunc = getTrailersFunc;
        this.disposeAction = disposeAction;
        this.state = state;
    }

    /// <summary>The response; faults with <see cref="RpcException"/> on a non-OK status.</summary>
    public Task<TResponse> ResponseAsync { get; }

    /// <summary>The response headers.</summary>
    public Task<Metadata> ResponseHeadersAsync { get; }

    /// <summary>Awaits the response.</summary>
    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();

    /// <summary>Awaits the response with a chosen context capture.</summary>
    public ConfiguredTaskAwaitable<TResponse> ConfigureAwait(bool continueOnCapturedContext) => ResponseAsync.ConfigureAwait(continueOnCapturedContext);

    /// <summary>The final status; only valid after the call finished.</summary>
    public Status GetStatus() => getStatusFunc(state);

    /// <summary>The trailers; only valid after the call finished.</summary>
    public Metadata GetTrailers() => getTrailersFunc(state);

    /// <summary>Cancels the call if it is still running and frees its resources.</summary>
    public void Dispose() => disposeAction(state);
}
