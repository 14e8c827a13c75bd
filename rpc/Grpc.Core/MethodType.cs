namespace Grpc.Core;

/// <summary>The four shapes of a gRPC method.</summary>
public enum MethodType
{
    /// <summary>One request, one response.</summary>
    Unary,
    /// <summary>A request stream, one response.</summary>
    ClientStreaming,
    /// <summary>One request, a response stream.</summary>
    ServerStreaming,
    /// <summary>Both directions stream.</summary>
    DuplexStreaming,
}
