namespace Sds.Gateway.Iscsi;

/// <summary>Timers and clocks of the iSCSI layer; time comes from an injected <see cref="System.TimeProvider"/> (STYLE.md).</summary>
internal sealed class IscsiServerOptions
{
    /// <summary>Clock for keep-alives, login timeouts and drains.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Idle time after which the target pings with a NOP-In (RFC 7143 §11.19).</summary>
    public TimeSpan NopInInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a target ping may stay unanswered before the connection is dropped.</summary>
    public TimeSpan NopInTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest login phase.</summary>
    public TimeSpan LoginTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait for aborted or in-flight commands to drain (task management, logout, close).</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// READ/WRITE-class commands moving at most this many bytes run on the connection's read loop
    /// when the SCSI layer completes them synchronously; larger ones (and every command when 0) go to
    /// the thread pool. 128 KiB by default (gateway/Iscsi/README.md, "Data path without thread hops");
    /// 0 exercises the completion-off-the-read-loop path that asynchronous devices always take.
    /// </summary>
    public int InlineExecutionBytesMax { get; init; } = 128 * 1024;

    /// <summary>Seconds the Async Message on shutdown gives initiators to log out (RFC 7143 §11.9.1 event 1, Parameter3).</summary>
    public TimeSpan ShutdownLogoutGrace { get; init; } = TimeSpan.FromSeconds(2);
}
