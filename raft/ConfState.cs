namespace Sds.Raft;

/// <summary>
/// A group's membership at some log index: the voters (who elect and form quorums) and learners (who
/// receive the log but neither vote nor count toward commitment). Immutable.
/// </summary>
public sealed class ConfState
{
    /// <summary>A configuration with no members (a node that has not been bootstrapped).</summary>
    public static readonly ConfState Empty = new([], []);

    /// <summary>Creates a configuration; the two lists must be disjoint and hold no zero id.</summary>
    public ConfState(ulong[] voters, ulong[] learners)
    {
        foreach (ulong voter in voters)
        {
            Invariant.Assert(voter != 0, "node id 0 is reserved for 'none'");
            Invariant.Assert(Array.IndexOf(learners, voter) < 0, "a node is either a voter or a learner");
        }

        Voters = voters;
        Learners = learners;
    }

    /// <summary>Voting members.</summary>
    public IReadOnlyList<ulong> Voters { get; }

    /// <summary>Non-voting members.</summary>
    public IReadOnlyList<ulong> Learners { get; }

    /// <summary>True when the node is a voter.</summary>
    public bool IsVoter(ulong id)
    {
        foreach (ulong voter in Voters)
        {
            if (voter == id)
            {
                return true;
            }
        }

        return false;
    }
}
