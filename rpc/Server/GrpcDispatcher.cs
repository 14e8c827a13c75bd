using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Sds.Rpc.Framing;

namespace Sds.Rpc.Server;

/// <summary>The one Kestrel request delegate: checks that a request is gRPC and routes it by :path.</summary>
internal sealed class GrpcDispatcher(MethodRegistry registry, ServerRuntime runtime)
{
    /// <summary>Serves one HTTP/2 request.</summary>
    public Task HandleAsync(HttpContext httpContext)
    {
        var request = httpContext.Request;
        if (!HttpMethods.IsPost(request.Method))
        {
            // Not gRPC at all: plain HTTP semantics (grpc/doc/PROTOCOL-HTTP2.md maps these on the client).
            httpContext.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return Task.CompletedTask;
        }

        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            httpContext.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return Task.CompletedTask;
        }

        var path = request.Path.Value;
        if (registry.TryGet(path, out var handler))
        {
            return handler.HandleAsync(httpContext);
        }

        ServerLog.UnknownMethod(runtime.Logger, path ?? "");
        var detail = path is not null && registry.HasServiceOf(path) ? "Method is unimplemented." : "Service is unimplemented.";
        WriteTrailersOnly(httpContext.Response, new Status(StatusCode.Unimplemented, detail));
        return Task.CompletedTask;
    }

    private static void WriteTrailersOnly(HttpResponse response, Status status)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.StatusHeader] = GrpcProtocol.StatusText(status.StatusCode);
        response.Headers[GrpcProtocol.MessageHeader] = GrpcProtocol.EncodeMessage(status.Detail);
    }
}
