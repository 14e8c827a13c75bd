using Grpc.Core;

namespace Sds.Rpc.Client;

/// <summary>The untyped face of a client call, so the call objects' status functions are static and shared.</summary>
internal interface IClientCall
{
    /// <summary>The final status; throws if the call is still running.</summary>
    Status GetStatus();

    /// <summary>The trailers; throws if the call is still running.</summary>
    Metadata GetTrailers();

    /// <summary>Cancels the call if it runs and releases it.</summary>
    void Dispose();
}
