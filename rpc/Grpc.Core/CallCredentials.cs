namespace Grpc.Core;

/// <summary>
/// Per-call credentials: a callback that adds metadata (for example a bearer token) before the call starts.
/// </summary>
public abstract class CallCredentials
{
    /// <summary>Creates credentials from an interceptor that fills in metadata.</summary>
    public static CallCredentials FromInterceptor(AsyncAuthInterceptor interceptor) => new InterceptorCredentials(interceptor);

    /// <summary>Adds this credential's metadata for a call.</summary>
    internal abstract Task AddMetadataAsync(AuthInterceptorContext context, Metadata metadata);

    private sealed class InterceptorCredentials(AsyncAuthInterceptor interceptor) : CallCredentials
    {
        internal override Task AddMetadataAsync(AuthInterceptorContext context, Metadata metadata) => interceptor(context, metadata);
    }
}
