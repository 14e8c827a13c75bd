namespace Sds.Raft.Transport;

/// <summary>One queued message: its group, the group epoch the sender knows, and the core's message.</summary>
/// <param name="GroupId">Raft group on the receiving node.</param>
/// <param name="GroupEpoch">Membership epoch the sender knows (PG epoch; 0 when unused).</param>
/// <param name="Message">The message; immutable once handed out by the core.</param>
internal readonly record struct RaftOutboundMessage(ulong GroupId, ulong GroupEpoch, Message Message);
