namespace Sds.Raft;

/// <summary>
/// The state Raft must persist before answering any message (Raft Figure 2, "persistent state on all
/// servers"): current term, the candidate voted for in it, and the commit index (which may lag; it is
/// persisted only as an optimization and never needs a sync of its own).
/// </summary>
/// <param name="Term">Current term.</param>
/// <param name="Vote">Node voted for in <paramref name="Term"/>, or 0.</param>
/// <param name="Commit">Highest index known committed.</param>
public readonly record struct HardState(ulong Term, ulong Vote, ulong Commit)
{
    /// <summary>True for the state of a node that has never voted or committed anything.</summary>
    public bool IsEmpty => Term == 0 && Vote == 0 && Commit == 0;
}
