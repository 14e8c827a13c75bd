using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Sds.Rpc;

/// <summary>
/// Cluster-internal auth: every call must carry <c>authorization: Bearer &lt;token&gt;</c> with the cluster's shared
/// token, or it ends with UNAUTHENTICATED before the handler runs. Add it to
/// <see cref="GrpcServerOptions.Interceptors"/>; clients set <see cref="GrpcChannelOptions.BearerToken"/>.
/// </summary>
public sealed class BearerTokenInterceptor : Interceptor
{
    private readonly byte[] expected;

    /// <summary>Creates the interceptor for one shared token.</summary>
    public BearerTokenInterceptor(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        expected = Encoding.UTF8.GetBytes("Bearer " + token);
    }

    /// <inheritdoc />
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, context);
    }

    /// <inheritdoc />
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(requestStream, context);
    }

    /// <inheritdoc />
    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, responseStream, context);
    }

    /// <inheritdoc />
    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Authenticate(ServerCallContext context)
    {
        var presented = context.RequestHeaders.GetValue("authorization");
        // Constant-time compare: the token is a secret, and timing must not reveal how much of it matched.
        if (presented is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), expected))
        {
            // Transport edge: RpcException is how a handler chain chooses the call's status.
            throw new RpcException(new Status(StatusCode.Unauthenticated, "Missing or invalid bearer token."));
        }
    }
}
