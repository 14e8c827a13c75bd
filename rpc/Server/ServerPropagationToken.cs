using Grpc.Core;

namespace Sds.Rpc.Server;

/// <summary>A server call's deadline and cancellation, handed to client calls started while handling it.</summary>
internal sealed class ServerPropagationToken(DateTime? deadline, CancellationToken cancellationToken) : ContextPropagationToken
{
    internal override DateTime? ParentDeadline => deadline;

    internal override CancellationToken ParentCancellationToken => cancellationToken;
}
