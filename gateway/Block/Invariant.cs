using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Sds.Gateway.Block;

/// <summary>
/// Assertions that stay in Release builds (STYLE "Exceptions mean bugs"): a failed invariant is a
/// programming error, never an operating error, so it throws and the session boundary fails fast.
/// </summary>
internal static class Invariant
{
    /// <summary>Throws <see cref="UnreachableException"/> when <paramref name="condition"/> is false.</summary>
    public static void Assert([DoesNotReturnIf(false)] bool condition, string why)
    {
        if (!condition) Fail(why);
    }

    [DoesNotReturn]
    private static void Fail(string why) => throw new UnreachableException("invariant violated: " + why);
}
