namespace Sds.Raft;

/// <summary>
/// Membership (voters and learners) and the leader's per-member <see cref="Progress"/>, with the majority
/// computations Raft needs (commit index, votes, CheckQuorum, read rounds, lease). A single configuration:
/// membership changes one server at a time (Raft thesis §4.1), so there is never a joint quorum.
/// </summary>
internal sealed class ProgressTracker
{
    private readonly int maxInflightMessages;
    private readonly Dictionary<ulong, Progress> progress = [];
    private readonly List<ulong> voters = [];
    private readonly List<ulong> learners = [];
    private ulong[] scratch = new ulong[8];

    /// <summary>Creates an empty tracker.</summary>
    public ProgressTracker(int maxInflightMessages) => this.maxInflightMessages = maxInflightMessages;

    /// <summary>Voting members.</summary>
    public List<ulong> Voters => voters;

    /// <summary>Non-voting members.</summary>
    public List<ulong> Learners => learners;

    /// <summary>Every member's progress, voters and learners.</summary>
    public Dictionary<ulong, Progress> Progress => progress;

    /// <summary>Votes needed for a majority of voters.</summary>
    public int Quorum => (voters.Count / 2) + 1;

    /// <summary>True when <paramref name="id"/> is a voter.</summary>
    public bool IsVoter(ulong id) => voters.Contains(id);

    /// <summary>The current membership as an immutable value.</summary>
    public ConfState ToConfState() => new([.. voters], [.. learners]);

    /// <summary>Replaces the membership by <paramref name="confState"/>; new members probe from <paramref name="next"/>.</summary>
    public void Reset(ConfState confState, ulong next)
    {
        progress.Clear();
        voters.Clear();
        learners.Clear();
        foreach (ulong voter in confState.Voters)
        {
            voters.Add(voter);
            progress[voter] = new Progress(next, maxInflightMessages, isLearner: false);
        }

        foreach (ulong learner in confState.Learners)
        {
            learners.Add(learner);
            progress[learner] = new Progress(next, maxInflightMessages, isLearner: true);
        }
    }

    /// <summary>Applies one single-server change. False (no change) when it does not fit the membership.</summary>
    public bool Apply(ConfChange change, ulong next)
    {
        ulong id = change.NodeId;
        switch (change.Type)
        {
            case ConfChangeType.AddLearner:
                if (progress.ContainsKey(id))
                {
                    return false;
                }

                learners.Add(id);
                progress[id] = new Progress(next, maxInflightMessages, isLearner: true) { RecentActive = true };
                return true;
            case ConfChangeType.PromoteLearner:
                if (!learners.Remove(id))
                {
                    return false;
                }

                voters.Add(id);
                progress[id].IsLearner = false;
                progress[id].RecentActive = true;
                return true;
            case ConfChangeType.RemoveNode:
                if (!progress.Remove(id))
                {
                    return false;
                }

                voters.Remove(id);
                learners.Remove(id);
                Invariant.Assert(voters.Count > 0, "removed the last voter");
                return true;
            default:
                throw new System.Diagnostics.UnreachableException();
        }
    }

    /// <summary>Raft §5.3/§5.4: the largest index replicated on a majority of voters.</summary>
    public ulong QuorumMatchIndex()
    {
        Span<ulong> values = Scratch();
        for (int i = 0; i < voters.Count; i++)
        {
            values[i] = progress[voters[i]].Match;
        }

        return KthLargest(values);
    }

    /// <summary>Highest read-index round acknowledged by a majority, counting <paramref name="self"/> at <paramref name="selfRound"/>.</summary>
    public ulong QuorumReadRound(ulong self, ulong selfRound)
    {
        Span<ulong> values = Scratch();
        for (int i = 0; i < voters.Count; i++)
        {
            values[i] = voters[i] == self ? selfRound : progress[voters[i]].ReadRoundAck;
        }

        return KthLargest(values);
    }

    /// <summary>Leader tick of the newest heartbeat a majority acknowledged, counting <paramref name="self"/> at <paramref name="now"/>.</summary>
    public ulong QuorumLeaseTick(ulong self, ulong now)
    {
        Span<ulong> values = Scratch();
        for (int i = 0; i < voters.Count; i++)
        {
            values[i] = voters[i] == self ? now : progress[voters[i]].LeaseAckTick;
        }

        return KthLargest(values);
    }

    /// <summary>
    /// CheckQuorum (Raft thesis §6.2): did a majority of voters talk to us since the last call? Clears the
    /// activity flags for the next round.
    /// </summary>
    public bool QuorumActiveAndReset(ulong self)
    {
        int active = 0;
        foreach (ulong voter in voters)
        {
            if (voter == self || progress[voter].RecentActive)
            {
                active++;
            }
        }

        foreach (KeyValuePair<ulong, Progress> pair in progress)
        {
            pair.Value.RecentActive = pair.Key == self;
        }

        return active >= Quorum;
    }

    /// <summary>Counts the votes of the current voters.</summary>
    public VoteResult TallyVotes(Dictionary<ulong, bool> votes)
    {
        int granted = 0;
        int rejected = 0;
        foreach (ulong voter in voters)
        {
            if (votes.TryGetValue(voter, out bool vote))
            {
                if (vote)
                {
                    granted++;
                }
                else
                {
                    rejected++;
                }
            }
        }

        if (granted >= Quorum)
        {
            return VoteResult.Won;
        }

        return rejected > voters.Count - Quorum ? VoteResult.Lost : VoteResult.Pending;
    }

    private Span<ulong> Scratch()
    {
        Invariant.Assert(voters.Count > 0, "quorum of an empty configuration");
        if (scratch.Length < voters.Count)
        {
            scratch = new ulong[voters.Count * 2];
        }

        return scratch.AsSpan(0, voters.Count);
    }

    private ulong KthLargest(Span<ulong> values)
    {
        values.Sort();
        return values[values.Length - Quorum];
    }
}
