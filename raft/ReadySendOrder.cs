namespace Sds.Raft;

/// <summary>When <see cref="RaftHost"/> hands a Ready's messages to the transport, relative to the sync.</summary>
public enum ReadySendOrder
{
    /// <summary>Every message after the sync (Raft Figure 2 taken literally; meta uses this).</summary>
    AfterSync,

    /// <summary>
    /// A leader's replication messages (Append, Heartbeat, Snapshot) before the sync, everything else after it:
    /// the leader writes its log in parallel with replicating it (Raft thesis §10.2.1). Only for a host whose
    /// loop is sequential — messages received are stepped only after the cycle's sync completed — and which,
    /// after a failed sync, neither sends nor counts acknowledgements until a sync succeeds (see
    /// <see cref="RaftHost"/>).
    /// </summary>
    LeaderAppendsBeforeSync,
}
