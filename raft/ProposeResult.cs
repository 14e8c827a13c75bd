namespace Sds.Raft;

/// <summary>Result of <c>RawNode.Propose</c>: a sentinel status, never an exception.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Index">Index of the appended entry when accepted.</param>
/// <param name="Term">Term of the appended entry when accepted.</param>
/// <param name="LeaderHint">Known leader (0 if none) when not accepted.</param>
public readonly record struct ProposeResult(ProposeStatus Status, ulong Index, ulong Term, ulong LeaderHint)
{
    /// <summary>True when the entry was appended.</summary>
    public bool IsAccepted => Status == ProposeStatus.Accepted;
}
