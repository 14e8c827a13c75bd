namespace Sds.Raft;

/// <summary>Outcome of <c>RawNode.ReadIndex</c>.</summary>
public enum ReadIndexStatus : byte
{
    /// <summary>A <see cref="ReadState"/> will appear in a <see cref="Ready"/> (maybe the next one).</summary>
    Accepted = 0,

    /// <summary>No leader is known to forward to (or a candidate); retry after an election.</summary>
    NotLeader = 1,

    /// <summary>The leader has not yet committed an entry of its term (thesis §6.4 step 1); retry shortly.</summary>
    NotReady = 2,

    /// <summary>Too many reads waiting for a heartbeat round; retry later.</summary>
    DroppedQueueFull = 3,

    /// <summary>
    /// Forwarded to the leader; a <see cref="ReadState"/> follows if the leader can serve it, otherwise
    /// nothing does (leader changed, not ready): time out and retry.
    /// </summary>
    Forwarded = 4,
}
