using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Sds.Raft.Transport;

/// <summary>
/// Assertions that stay in Release builds (STYLE.md "Exceptions mean bugs"): a failure is a programmer
/// error in the transport or its caller, never an operating error (those are values).
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

    /// <summary>The one place an invariant failure is thrown.</summary>
    [DoesNotReturn]
    [StackTraceHidden]
    public static void Fail(string why) => throw new UnreachableException("raft-transport invariant violated: " + why);
}
