namespace Sds.Raft;

/// <summary>A ReadIndex request waiting for a quorum to acknowledge heartbeat round <see cref="Round"/>.</summary>
/// <param name="Index">Commit index when the read was accepted.</param>
/// <param name="RequestContext">Caller's id.</param>
/// <param name="Round">Heartbeat round that must be acknowledged by a majority.</param>
/// <param name="Origin">The follower that forwarded the read, or 0 for a local client.</param>
internal readonly record struct PendingRead(ulong Index, ulong RequestContext, ulong Round, ulong Origin);
