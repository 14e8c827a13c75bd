namespace Sds.Meta.Host;

/// <summary>How a proposal or linearizable read against the local member ended.</summary>
internal enum MetaCallStatus : byte
{
    /// <summary>Applied (proposal) or served at a confirmed read index (read).</summary>
    Ok = 0,

    /// <summary>This member is not the leader; the result carries the leader hint (0 if unknown).</summary>
    NotLeader = 1,

    /// <summary>
    /// Leadership changed while the proposal was in flight: it may or may not commit. Retrying with the same
    /// request id is safe (the state machine applies a request id once).
    /// </summary>
    OutcomeUnknown = 2,

    /// <summary>The member is stopping.</summary>
    Stopped = 3,
}
