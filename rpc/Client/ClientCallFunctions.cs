using Grpc.Core;

namespace Sds.Rpc.Client;

/// <summary>Static delegates passed to the Async*Call wrappers with the call as state: no closure per call.</summary>
internal static class ClientCallFunctions
{
    public static readonly Func<object, Status> GetStatus = static state => ((IClientCall)state).GetStatus();

    public static readonly Func<object, Metadata> GetTrailers = static state => ((IClientCall)state).GetTrailers();

    public static readonly Action<object> Dispose = static state => ((IClientCall)state).Dispose();
}
