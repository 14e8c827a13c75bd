using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Sds.Storage;

/// <summary>
/// Assertions that stay in Release builds (STYLE.md "Exceptions mean bugs"). A failed invariant is
/// a programmer error, never an operating error: operating errors are returned as values.
/// </summary>
internal static class Invariant
{
    /// <summary>Crashes the caller's operation when <paramref name="condition"/> is false.</summary>
    public static void Assert([DoesNotReturnIf(false)] bool condition, string why)
    {
        if (!condition)
        {
            Fail(why);
        }
    }

    /// <summary>The one place an invariant failure is thrown.</summary>
    [DoesNotReturn]
    [StackTraceHidden]
    public static void Fail(string why) => throw new UnreachableException("invariant violated: " + why);
}
