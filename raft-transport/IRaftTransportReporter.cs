namespace Sds.Raft.Transport;

/// <summary>
/// Where the sending side reports messages it could not deliver, so the owning Raft node can react
/// (<c>RawNode.ReportUnreachable</c> moves the follower's progress back to probing; <c>ReportSnapshot</c>
/// ends a snapshot transfer). Called from transport threads: implementations enqueue the report for the
/// group's own thread, since a <see cref="RawNode"/> is single-threaded.
/// </summary>
public interface IRaftTransportReporter
{
    /// <summary>A message of <paramref name="groupId"/> to member <paramref name="toMemberId"/> was dropped.</summary>
    void ReportUnreachable(ulong groupId, ulong toMemberId);

    /// <summary>A snapshot message of <paramref name="groupId"/> to <paramref name="toMemberId"/> was sent or dropped.</summary>
    void ReportSnapshot(ulong groupId, ulong toMemberId, bool failed);
}
