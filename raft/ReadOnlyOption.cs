namespace Sds.Raft;

/// <summary>How the leader confirms a linearizable read (Raft thesis §6.4).</summary>
public enum ReadOnlyOption : byte
{
    /// <summary>Every read waits for a heartbeat round acknowledged by a quorum (ReadIndex, thesis §6.4).</summary>
    Safe = 0,

    /// <summary>
    /// Reads are answered at once while the leader lease holds (thesis §6.4.1), falling back to
    /// <see cref="Safe"/> when it does not. Requires <c>CheckQuorum</c>. Assumes that no member's clock runs
    /// slower than the leader's by more than <c>MaxClockDriftTicks</c> per election timeout.
    /// </summary>
    LeaseBased = 1,
}
