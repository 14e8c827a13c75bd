using System.Diagnostics.CodeAnalysis;

namespace Sds.Gateway.Iscsi;

/// <summary>
/// Programmer-error checks that stay on in Release builds (STYLE.md "Exceptions mean bugs"):
/// a failed invariant is a bug in this process, never a consequence of network input.
/// </summary>
internal static class Invariant
{
    /// <summary>Fails with <paramref name="why"/> when <paramref name="condition"/> is false.</summary>
    public static void Assert([DoesNotReturnIf(false)] bool condition, string why)
    {
        if (!condition) Fail(why);
    }

    [DoesNotReturn]
    private static void Fail(string why) => throw new InvariantViolationException(why);
}
