namespace Sds.Raft;

/// <summary>How the leader currently replicates to one member (flow control). Reported by <c>RawNode.TryGetProgress</c>.</summary>
public enum ProgressState : byte
{
    /// <summary>Match unknown: one Append at a time, waiting for each answer (backtracking).</summary>
    Probe = 0,

    /// <summary>Steady state: Appends are pipelined optimistically, bounded by <see cref="Inflights"/>.</summary>
    Replicate = 1,

    /// <summary>A snapshot is on its way; nothing else is sent until it lands or fails.</summary>
    Snapshot = 2,
}
