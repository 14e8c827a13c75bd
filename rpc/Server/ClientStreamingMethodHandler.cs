using Grpc.Core;

namespace Sds.Rpc.Server;

/// <summary>Serves a client-streaming method.</summary>
internal sealed class ClientStreamingMethodHandler<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerRuntime runtime, ClientStreamingServerMethod<TRequest, TResponse> handler)
    : ServerMethodHandler<TRequest, TResponse>(method, runtime)
    where TRequest : class
    where TResponse : class
{
    protected override async Task InvokeAsync(ServerCall<TRequest, TResponse> call)
    {
        var response = await handler(call, call).ConfigureAwait(false);
        await call.WriteSingleResponseAsync(response).ConfigureAwait(false);
    }
}
