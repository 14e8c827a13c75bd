namespace Sds.Rpc.Client;

/// <summary>Why a client call was cancelled locally; the first reason wins and decides the status.</summary>
internal enum CancelReason
{
    /// <summary>Not cancelled.</summary>
    None = 0,
    /// <summary>The caller's token fired (CANCELLED).</summary>
    User = 1,
    /// <summary>The deadline passed (DEADLINE_EXCEEDED).</summary>
    Deadline = 2,
    /// <summary>The call was disposed before it finished (CANCELLED).</summary>
    Disposed = 3,
    /// <summary>The call already failed locally (its status is set) and the stream is being torn down.</summary>
    Failed = 4,
}
