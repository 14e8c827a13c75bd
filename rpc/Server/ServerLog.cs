using Microsoft.Extensions.Logging;

namespace Sds.Rpc.Server;

/// <summary>Log messages of the server, generated so that no string is built unless the level is enabled.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Handler of {Method} threw; the call ends with INTERNAL.")]
    public static partial void HandlerThrew(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Call to unknown method {Path} answered UNIMPLEMENTED.")]
    public static partial void UnknownMethod(ILogger logger, string path);
}
