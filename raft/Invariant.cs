using System.Diagnostics.CodeAnalysis;

namespace Sds.Raft;

/// <summary>
/// Assertions that stay in Release builds (STYLE.md "Exceptions mean bugs"). A failed assertion is a
/// programmer error in the Raft core or its caller, never an operating error, so it throws.
/// </summary>
internal static class Invariant
{
    /// <summary>Throws <see cref="InvalidOperationException"/> when <paramref name="condition"/> is false.</summary>
    public static void Assert([DoesNotReturnIf(false)] bool condition, string why)
    {
        if (!condition)
        {
            Fail(why);
        }
    }

    /// <summary>Reports a broken invariant.</summary>
    [DoesNotReturn]
    public static void Fail(string why) => throw new InvalidOperationException("raft invariant violated: " + why);
}
