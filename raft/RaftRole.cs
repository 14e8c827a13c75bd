namespace Sds.Raft;

/// <summary>A member's role (Raft §5.1, plus the pre-candidate of thesis §9.6).</summary>
public enum RaftRole : byte
{
    /// <summary>Passive; answers leaders and candidates.</summary>
    Follower = 0,

    /// <summary>Probing with pre-votes whether an election could succeed.</summary>
    PreCandidate = 1,

    /// <summary>Campaigning in a new term.</summary>
    Candidate = 2,

    /// <summary>Accepts proposals and replicates the log.</summary>
    Leader = 3,
}
