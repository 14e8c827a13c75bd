using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Sds.Rpc.Server;

/// <summary>
/// Receives a service's methods from its generated <c>BindService</c> and registers a handler for each, wrapped
/// in the server's interceptors (the first interceptor is the outermost). The wrapping closures are made here,
/// once per method, never per call.
/// </summary>
internal sealed class RegistryBinder(MethodRegistry registry, ServerRuntime runtime, IReadOnlyList<Interceptor> interceptors) : ServiceBinderBase
{
    /// <inheritdoc />
    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
    {
        var next = handler ?? throw new ArgumentNullException(nameof(handler));
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var inner = next;
            next = (request, context) => interceptor.UnaryServerHandler(request, context, inner);
        }

        registry.Add(new UnaryMethodHandler<TRequest, TResponse>(method, runtime, next));
    }

    /// <inheritdoc />
    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
    {
        var next = handler ?? throw new ArgumentNullException(nameof(handler));
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var inner = next;
            next = (requestStream, context) => interceptor.ClientStreamingServerHandler(requestStream, context, inner);
        }

        registry.Add(new ClientStreamingMethodHandler<TRequest, TResponse>(method, runtime, next));
    }

    /// <inheritdoc />
    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
    {
        var next = handler ?? throw new ArgumentNullException(nameof(handler));
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var inner = next;
            next = (request, responseStream, context) => interceptor.ServerStreamingServerHandler(request, responseStream, context, inner);
        }

        registry.Add(new ServerStreamingMethodHandler<TRequest, TResponse>(method, runtime, next));
    }

    /// <inheritdoc />
    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
    {
        var next = handler ?? throw new ArgumentNullException(nameof(handler));
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var inner = next;
            next = (requestStream, responseStream, context) => interceptor.DuplexStreamingServerHandler(requestStream, responseStream, context, inner);
        }

        registry.Add(new DuplexStreamingMethodHandler<TRequest, TResponse>(method, runtime, next));
    }
}
