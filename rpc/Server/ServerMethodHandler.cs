using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Sds.Rpc.Server;

/// <summary>Serves one method: decodes the call from HTTP/2, runs the (intercepted) handler, writes status.</summary>
internal abstract class ServerMethodHandler
{
    protected ServerMethodHandler(IMethod method) => Method = method;

    /// <summary>The method served.</summary>
    public IMethod Method { get; }

    /// <summary>Serves one request.</summary>
    public abstract Task HandleAsync(HttpContext httpContext);
}
