using Grpc.Core;

namespace Sds.Rpc.Client;

/// <summary>The final status and trailers of a call, published once as one reference so readers on any thread see both.</summary>
internal sealed class CallOutcome(Status status, Metadata trailers)
{
    public Status Status { get; } = status;

    public Metadata Trailers { get; } = trailers;
}
