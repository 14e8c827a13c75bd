namespace Grpc.Core;

/// <summary>What an <see cref="AsyncAuthInterceptor"/> knows about the call.</summary>
public class AuthInterceptorContext
{
    /// <summary>Creates the context.</summary>
    public AuthInterceptorContext(string serviceUrl, string methodName, CancellationToken cancellationToken = default)
    {
        ServiceUrl = serviceUrl;
        MethodName = methodName;
        CancellationToken = cancellationToken;
    }

    /// <summary>The service URL, e.g. <c>http://host:port/sds.v1.Storage</c>.</summary>
    public string ServiceUrl { get; }

    /// <summary>The method name.</summary>
    public string MethodName { get; }

    /// <summary>Cancellation of the call.</summary>
    public CancellationToken CancellationToken { get; }
}
