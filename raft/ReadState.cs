namespace Sds.Raft;

/// <summary>
/// A linearizable read is ready once the local state machine has applied <see cref="Index"/>
/// (Raft thesis §6.4). <see cref="RequestContext"/> is the caller's id from <c>RawNode.ReadIndex</c>.
/// </summary>
/// <param name="Index">Commit index recorded when the read was accepted.</param>
/// <param name="RequestContext">Caller's request id.</param>
public readonly record struct ReadState(ulong Index, ulong RequestContext);
