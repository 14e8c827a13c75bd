namespace Sds.Raft;

/// <summary>Messages exchanged between members of one Raft group. Persisted on the wire: values never change.</summary>
public enum MessageType : byte
{
    /// <summary>AppendEntries request (Raft §5.3); also carries the leader's commit index.</summary>
    Append = 1,

    /// <summary>AppendEntries result: <c>Index</c> is the follower's last matching index, or the rejected one.</summary>
    AppendResponse = 2,

    /// <summary>RequestVote (Raft §5.2, §5.4.1).</summary>
    Vote = 3,

    /// <summary>RequestVote result.</summary>
    VoteResponse = 4,

    /// <summary>Pre-vote (Raft thesis §9.6): asks whether a vote would be granted without bumping any term.</summary>
    PreVote = 5,

    /// <summary>Pre-vote result.</summary>
    PreVoteResponse = 6,

    /// <summary>InstallSnapshot (Raft §7), whole snapshot in one message.</summary>
    Snapshot = 7,

    /// <summary>Leader heartbeat: commit index, read-index round and lease tick.</summary>
    Heartbeat = 8,

    /// <summary>Heartbeat acknowledgement echoing the round and lease tick.</summary>
    HeartbeatResponse = 9,

    /// <summary>Leadership transfer (Raft thesis §3.10): the receiver starts an election at once.</summary>
    TimeoutNow = 10,

    /// <summary>A follower forwards a client's ReadIndex request to the leader (thesis §6.4); Context is the request id.</summary>
    ReadIndex = 11,

    /// <summary>The leader's answer: Index is the read index for request Context.</summary>
    ReadIndexResponse = 12,
}
