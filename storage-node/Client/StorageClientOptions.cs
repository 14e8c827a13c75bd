namespace Sds.Storage.Client;

/// <summary>Timeouts and retry pacing of <see cref="StorageClient"/>.</summary>
public sealed class StorageClientOptions
{
    /// <summary>Total time one request may take across retries (elections included) before it fails with BUSY.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Pause before retrying after no leader was known, a node was unreachable, or it answered BUSY.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>Bearer token for the storage nodes, if they require one.</summary>
    public string? BearerToken { get; init; }

    /// <summary>
    /// Called when a request gives up after <see cref="RequestTimeout"/>, with its PG and the attempts it made
    /// (member → outcome, oldest first, at most the last 16): the operator's only view of why a command ended
    /// ABORTED COMMAND.
    /// </summary>
    public Action<uint, string>? GaveUp { get; init; }

    /// <summary>Clock for backoff and deadlines.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
