using Grpc.Core;

namespace Sds.Rpc.Server;

/// <summary>Serves a bidi-streaming method.</summary>
internal sealed class DuplexStreamingMethodHandler<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerRuntime runtime, DuplexStreamingServerMethod<TRequest, TResponse> handler)
    : ServerMethodHandler<TRequest, TResponse>(method, runtime)
    where TRequest : class
    where TResponse : class
{
    protected override Task InvokeAsync(ServerCall<TRequest, TResponse> call) => handler(call, call, call);
}
