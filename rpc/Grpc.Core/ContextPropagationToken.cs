namespace Grpc.Core;

/// <summary>
/// Carries a server call's deadline and cancellation into client calls made while handling it
/// (pass it in <see cref="CallOptions.PropagationToken"/>).
/// </summary>
public abstract class ContextPropagationToken
{
    /// <summary>The parent's deadline (UTC), if it is propagated.</summary>
    internal abstract DateTime? ParentDeadline { get; }

    /// <summary>The parent's cancellation, if it is propagated.</summary>
    internal abstract CancellationToken ParentCancellationToken { get; }
}
