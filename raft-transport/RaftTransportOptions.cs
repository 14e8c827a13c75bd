namespace Sds.Raft.Transport;

/// <summary>Limits and timers of <see cref="RaftTransportClient"/>. Each bound is a named value with its unit.</summary>
public sealed class RaftTransportOptions
{
    /// <summary>This node's id, stamped on every batch as <c>from_node_id</c>.</summary>
    public required string LocalNodeId { get; init; }

    /// <summary>
    /// Messages queued per destination before new ones are dropped (and reported unreachable). Raft tolerates
    /// loss, and a bounded queue keeps a slow or dead peer from holding the sender's memory.
    /// </summary>
    public int PeerQueueCapacityMessages { get; init; } = 4096;

    /// <summary>Most messages put in one <c>RaftMessageBatch</c>.</summary>
    public int MaxBatchMessages { get; init; } = 512;

    /// <summary>Pause after a stream to a peer breaks before it is tried again; messages meanwhile are dropped.</summary>
    public TimeSpan ReconnectBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Clock for the backoff (virtual time in simulations).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Bearer token for the cluster-internal service, if the servers require one.</summary>
    public string? BearerToken { get; init; }

    /// <summary>Largest batch the client sends, in bytes (the server's receive limit must be at least this).</summary>
    public int MaxSendMessageSizeBytes { get; init; } = 64 * 1024 * 1024;

    internal void Validate()
    {
        Invariant.Assert(!string.IsNullOrEmpty(LocalNodeId), "a local node id is required");
        Invariant.Assert(PeerQueueCapacityMessages > 0 && MaxBatchMessages > 0, "queue and batch bounds must be positive");
        Invariant.Assert(ReconnectBackoff > TimeSpan.Zero, "backoff must be positive");
    }
}
