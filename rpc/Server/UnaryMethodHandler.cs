using Grpc.Core;

namespace Sds.Rpc.Server;

/// <summary>Serves a unary method.</summary>
internal sealed class UnaryMethodHandler<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerRuntime runtime, UnaryServerMethod<TRequest, TResponse> handler)
    : ServerMethodHandler<TRequest, TResponse>(method, runtime)
    where TRequest : class
    where TResponse : class
{
    protected override async Task InvokeAsync(ServerCall<TRequest, TResponse> call)
    {
        var request = await call.ReadSingleRequestAsync().ConfigureAwait(false);
        var response = await handler(request, call).ConfigureAwait(false);
        await call.WriteSingleResponseAsync(response).ConfigureAwait(false);
    }
}
