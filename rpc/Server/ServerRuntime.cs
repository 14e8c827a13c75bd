using Microsoft.Extensions.Logging;

namespace Sds.Rpc.Server;

/// <summary>Settings every call handler of one server reads; immutable once the server starts.</summary>
internal sealed class ServerRuntime
{
    public ServerRuntime(int maxReceiveMessageBytes, int maxSendMessageBytes, bool enableDetailedErrors, TimeProvider timeProvider, ILogger logger)
    {
        Invariant.Assert(maxReceiveMessageBytes > 0 && maxSendMessageBytes > 0, "message limits are positive");
        MaxReceiveMessageBytes = maxReceiveMessageBytes;
        MaxSendMessageBytes = maxSendMessageBytes;
        EnableDetailedErrors = enableDetailedErrors;
        TimeProvider = timeProvider;
        Logger = logger;
    }

    /// <summary>Largest request message accepted, in bytes; larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageBytes { get; }

    /// <summary>Largest response message sent, in bytes.</summary>
    public int MaxSendMessageBytes { get; }

    /// <summary>Put exception type and message into INTERNAL statuses (never the stack trace). Off in production.</summary>
    public bool EnableDetailedErrors { get; }

    /// <summary>Clock for deadlines.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>Where handler failures are logged.</summary>
    public ILogger Logger { get; }
}
