using System.Diagnostics;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Sds.Rpc.Tracing;

namespace Sds.Rpc.Server;

/// <summary>The part of serving a call that all four method shapes share: the call object, the span, the status.</summary>
internal abstract class ServerMethodHandler<TRequest, TResponse> : ServerMethodHandler
    where TRequest : class
    where TResponse : class
{
    private readonly ServerRuntime runtime;

    protected ServerMethodHandler(Method<TRequest, TResponse> method, ServerRuntime runtime) : base(method)
    {
        TypedMethod = method;
        this.runtime = runtime;
    }

    protected Method<TRequest, TResponse> TypedMethod { get; }

    /// <inheritdoc />
    public sealed override async Task HandleAsync(HttpContext httpContext)
    {
        var startTimestamp = RpcMetrics.ServerStart();
        var headers = httpContext.Request.Headers;
        using var activity = RpcTracing.StartServer(TypedMethod.FullName, headers[Framing.GrpcProtocol.TraceParentHeader], headers[Framing.GrpcProtocol.TraceStateHeader]);
        var call = new ServerCall<TRequest, TResponse>(httpContext, TypedMethod, runtime);
        try
        {
            Status status;
            if (!call.TryStart(out var startStatus))
            {
                status = startStatus;
            }
            else
            {
                try
                {
                    await InvokeAsync(call).ConfigureAwait(false);
                    status = call.Status;
                }
                catch (Exception exception)
                {
                    status = call.StatusFromException(exception);
                }
            }

            if (activity is not null)
            {
                activity.SetTag("rpc.grpc.status_code", (int)status.StatusCode);
                if (status.StatusCode != StatusCode.OK)
                {
                    activity.SetStatus(ActivityStatusCode.Error, status.Detail);
                }
            }

            await call.EndAsync(status).ConfigureAwait(false);
            RpcMetrics.ServerFinished(startTimestamp, TypedMethod.FullName, status.StatusCode);
        }
        finally
        {
            call.Dispose();
        }
    }

    /// <summary>Reads the request(s), runs the handler, writes the response(s).</summary>
    protected abstract Task InvokeAsync(ServerCall<TRequest, TResponse> call);
}
