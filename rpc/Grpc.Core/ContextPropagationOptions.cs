namespace Grpc.Core;

/// <summary>What a child call inherits from the server call that starts it.</summary>
public class ContextPropagationOptions
{
    /// <summary>Deadline and cancellation both propagate.</summary>
    public static readonly ContextPropagationOptions Default = new();

    /// <summary>Creates the options.</summary>
    public ContextPropagationOptions(bool propagateDeadline = true, bool propagateCancellation = true)
    {
        IsPropagateDeadline = propagateDeadline;
        IsPropagateCancellation = propagateCancellation;
    }

    /// <summary>The child call gets the parent's deadline.</summary>
    public bool IsPropagateDeadline { get; }

    /// <summary>The child call is cancelled with the parent.</summary>
    public bool IsPropagateCancellation { get; }
}
