namespace Grpc.Core;

/// <summary>The request stream of a client- or bidi-streaming call.</summary>
public interface IClientStreamWriter<in T> : IAsyncStreamWriter<T>
{
    /// <summary>Ends the request stream (half-close); no writes may follow.</summary>
    Task CompleteAsync();
}
