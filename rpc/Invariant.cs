using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Sds.Rpc;

/// <summary>Release-build assertions: a failure is a bug in this library, never an operating error.</summary>
internal static class Invariant
{
    /// <summary>Fails fast with <paramref name="why"/> when <paramref name="condition"/> is false.</summary>
    public static void Assert([DoesNotReturnIf(false)] bool condition, string why)
    {
        if (!condition)
        {
            Fail(why);
        }
    }

    [DoesNotReturn]
    [StackTraceHidden]
    private static void Fail(string why) => throw new UnreachableException("Invariant broken: " + why);
}
