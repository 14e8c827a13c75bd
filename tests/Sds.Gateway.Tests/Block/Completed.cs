namespace Sds.Gateway.Tests.Block;

/// <summary>The devices under test complete synchronously; this reads the value and proves it.</summary>
internal static class Completed
{
    public static T Now<T>(this ValueTask<T> pending)
    {
        Assert.True(pending.IsCompleted, "device operation completed synchronously");
        return pending.Result;
    }
}
