namespace Sds.Gateway.Transport;

/// <summary>
/// Chooses how .NET delivers socket completions for the whole process. By default the runtime's
/// epoll thread hands every completion to the thread pool, which costs one thread wake-up per
/// received PDU batch; with inline completions the iSCSI read loop continues on the epoll thread
/// itself. Measured on the 2-core bench machine (bench/README.md) this roughly doubled 4 KiB QD1
/// IOPS through qemu-nbd, where each request is a round trip.
/// </summary>
/// <remarks>
/// The runtime reads <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS</c> once, when the first
/// socket is used, so <see cref="PreferInline"/> must run before any socket exists (first thing in
/// <c>Main</c>). The price is that code running in a socket continuation must not block: the read
/// loop only runs page-cache-sized I/O inline (larger transfers and commands without data go to the
/// thread pool, see <c>IscsiServerOptions.InlineExecutionBytesMax</c>), and STYLE.md already bans
/// <c>.Result</c>/<c>.Wait()</c>. An operator who sets the variable (to 0 or 1) keeps that choice.
/// </remarks>
internal static class SocketCompletionMode
{
    /// <summary>The runtime's switch (System.Net.Sockets, Unix).</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Turns inline socket completions on unless the environment already decides.</summary>
    public static void PreferInline()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is not null) return;
        Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
    }
}
