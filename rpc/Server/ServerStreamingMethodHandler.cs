using Grpc.Core;

namespace Sds.Rpc.Server;

/// <summary>Serves a server-streaming method.</summary>
internal sealed class ServerStreamingMethodHandler<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerRuntime runtime, ServerStreamingServerMethod<TRequest, TResponse> handler)
    : ServerMethodHandler<TRequest, TResponse>(method, runtime)
    where TRequest : class
    where TResponse : class
{
    protected override async Task InvokeAsync(ServerCall<TRequest, TResponse> call)
    {
        var request = await call.ReadSingleRequestAsync().ConfigureAwait(false);
        await handler(request, call, call).ConfigureAwait(false);
    }
}
