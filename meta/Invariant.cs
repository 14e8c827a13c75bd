using System.Diagnostics.CodeAnalysis;

namespace Sds.Meta;

/// <summary>
/// Assertions that stay in Release builds (STYLE.md "Exceptions mean bugs"): a failure is a programmer
/// error in meta, never an operating error, so it throws and the member stops rather than diverge.
/// </summary>
internal static class Invariant
{
    /// <summary>Throws when <paramref name="condition"/> is false.</summary>
    public static void Assert([DoesNotReturnIf(false)] bool condition, string why)
    {
        if (!condition)
        {
            Fail(why);
        }
    }

    /// <summary>Reports a broken invariant.</summary>
    [DoesNotReturn]
    public static void Fail(string why) => throw new InvalidOperationException("meta invariant violated: " + why);
}
