namespace Grpc.Core;

/// <summary>The response stream of a server- or bidi-streaming handler.</summary>
public interface IServerStreamWriter<in T> : IAsyncStreamWriter<T>
{
}
