namespace Sds.Gateway.Iscsi;

/// <summary>A broken invariant: a bug in this process (never caught to carry on).</summary>
internal sealed class InvariantViolationException : Exception
{
    /// <summary>Creates the exception with the invariant's reason.</summary>
    public InvariantViolationException(string why) : base("invariant violated: " + why)
    {
    }
}
