namespace Sds.Raft;

/// <summary>
/// One Raft message. Which fields are meaningful depends on <see cref="Type"/>; unused fields are zero.
/// The transport owns serialization; the core never mutates a message after handing it out.
/// </summary>
public sealed class Message
{
    /// <summary>Message kind.</summary>
    public MessageType Type { get; init; }

    /// <summary>Receiver.</summary>
    public ulong To { get; init; }

    /// <summary>Sender (stamped by the core when it sends).</summary>
    public ulong From { get; set; }

    /// <summary>Sender's term (for a pre-vote request, the term it would campaign in).</summary>
    public ulong Term { get; init; }

    /// <summary>
    /// Append: term of the entry at <see cref="Index"/>. Vote/PreVote: term of the candidate's last entry.
    /// AppendResponse with <see cref="Reject"/>: term of the entry at <see cref="RejectHint"/> on the follower.
    /// </summary>
    public ulong LogTerm { get; init; }

    /// <summary>
    /// Append: index preceding <see cref="Entries"/>. AppendResponse: last index now matching the leader,
    /// or the rejected <c>Index</c>. Vote/PreVote: candidate's last index.
    /// </summary>
    public ulong Index { get; init; }

    /// <summary>Entries to append (Append only).</summary>
    public Entry[] Entries { get; init; } = [];

    /// <summary>Leader's commit index (Append, Heartbeat).</summary>
    public ulong Commit { get; init; }

    /// <summary>Snapshot to install (Snapshot only).</summary>
    public Snapshot? Snapshot { get; init; }

    /// <summary>True for a negative response.</summary>
    public bool Reject { get; init; }

    /// <summary>Rejected AppendResponse: index from which the leader should probe (conflict-index backtracking).</summary>
    public ulong RejectHint { get; init; }

    /// <summary>Heartbeat(Response): read-index round being confirmed (Raft thesis §6.4), 0 for none.</summary>
    public ulong Context { get; init; }

    /// <summary>Heartbeat(Response): the leader's tick count when the heartbeat was sent (leader lease, thesis §6.4.1).</summary>
    public ulong LeaseTick { get; init; }

    /// <summary>Vote: the campaign was started by <see cref="MessageType.TimeoutNow"/> and may break a lease.</summary>
    public bool Transfer { get; init; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Type} {From}->{To} term={Term} logTerm={LogTerm} index={Index} entries={Entries.Length} commit={Commit}" +
        $"{(Reject ? $" reject hint={RejectHint}" : string.Empty)}{(Snapshot is null ? string.Empty : $" snap={Snapshot.Metadata.Index}")}";
}
