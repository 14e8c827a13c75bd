namespace Sds.Raft.Tests.Simulation;

/// <summary>
/// Raft's safety properties (Raft Figure 3), checked against the live members after every simulator step:
/// election safety, log matching, leader completeness, state machine safety, and survival of acknowledged
/// writes. It remembers history across crashes (terms' leaders, committed and applied entries).
/// </summary>
internal sealed class InvariantChecker
{
    private readonly Dictionary<ulong, ulong> leaderOfTerm = [];
    private readonly List<CommittedEntry> committed = [default]; // committed[i] describes index i; slot 0 unused
    private readonly Dictionary<(ulong Index, ulong Term), (ulong PreviousTerm, ulong Hash)> entriesSeen = [];
    private readonly List<Entry> scratch = [];
    private readonly Dictionary<ulong, (ulong Term, ulong Hash)> ackedWrites = [];

    public ulong CommittedCount => (ulong)committed.Count - 1;

    public IReadOnlyList<CommittedEntry> Committed => committed;

    public static ulong HashOf(Entry entry)
    {
        ulong hash = 14695981039346656037UL ^ (ulong)entry.Type;
        foreach (byte b in entry.Data.Span)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }

    /// <summary>A write was acknowledged to its client: its entry must never be lost.</summary>
    public void OnAcknowledged(ulong index, ulong term, ulong hash) => ackedWrites[index] = (term, hash);

    /// <summary>State machine safety (Figure 3): every member applies the same entry at each index.</summary>
    public void OnApply(SimulatedNode node, Entry entry)
    {
        RecordCommitted(node, entry.Index, entry.Term, HashOf(entry), node.Raft!.Term);
    }

    public void Check(SimulatedNode[] nodes)
    {
        foreach (SimulatedNode node in nodes)
        {
            if (node.IsUp)
            {
                CheckNode(node);
            }
        }
    }

    private void CheckNode(SimulatedNode node)
    {
        Raft raft = node.Raft!.Raft;
        RaftLog log = raft.Log;

        // Election safety: at most one leader per term, ever.
        if (raft.Role == RaftRole.Leader)
        {
            if (leaderOfTerm.TryGetValue(raft.Term, out ulong leader))
            {
                if (leader != node.Id)
                {
                    throw new SimulationViolation("election safety", $"term {raft.Term} has leaders {leader} and {node.Id}");
                }
            }
            else
            {
                leaderOfTerm[raft.Term] = node.Id;
                CheckLeaderCompleteness(node, raft);
            }
        }

        // Commitment is monotone and agrees across members.
        if (log.Committed > node.CheckedCommit)
        {
            ulong from = Math.Max(node.CheckedCommit + 1, log.FirstIndex);
            scratch.Clear();
            if (from <= log.Committed)
            {
                log.Slice(from, log.Committed + 1, ulong.MaxValue, scratch);
            }

            foreach (Entry entry in scratch)
            {
                RecordCommitted(node, entry.Index, entry.Term, HashOf(entry), raft.Term);
            }

            node.CheckedCommit = log.Committed;
        }

        Invariant.Assert(log.Applied <= log.Committed && log.Committed <= log.LastIndex, "cursor order");

        // Log matching: an (index, term) pair identifies the entry and everything before it.
        (ulong First, ulong Last, ulong LastTerm) shape = (log.FirstIndex, log.LastIndex, log.LastTerm);
        if (shape != node.ScannedShape)
        {
            node.ScannedShape = shape;
            scratch.Clear();
            if (log.FirstIndex <= log.LastIndex)
            {
                log.Slice(log.FirstIndex, log.LastIndex + 1, ulong.MaxValue, scratch);
            }

            ulong previousTerm = log.TermOrZero(log.FirstIndex - 1);
            foreach (Entry entry in scratch)
            {
                ulong hash = HashOf(entry);
                if (entriesSeen.TryGetValue((entry.Index, entry.Term), out (ulong PreviousTerm, ulong Hash) seen))
                {
                    if (seen.Hash != hash || (seen.PreviousTerm != previousTerm && previousTerm != 0 && seen.PreviousTerm != 0))
                    {
                        throw new SimulationViolation("log matching", $"node {node.Id} index {entry.Index} term {entry.Term} differs from another log");
                    }
                }
                else
                {
                    entriesSeen[(entry.Index, entry.Term)] = (previousTerm, hash);
                }

                previousTerm = entry.Term;
            }
        }
    }

    private void RecordCommitted(SimulatedNode node, ulong index, ulong term, ulong hash, ulong observerTerm)
    {
        if (index < (ulong)committed.Count)
        {
            CommittedEntry known = committed[(int)index];
            if (known.Term == 0)
            {
                committed[(int)index] = new CommittedEntry(term, hash, observerTerm);
                return;
            }

            if (known.Term != term || known.Hash != hash)
            {
                string property = ackedWrites.ContainsKey(index) ? "acked write survival" : "state machine safety";
                throw new SimulationViolation(property, $"node {node.Id} commits/applies term {term} at index {index}, but term {known.Term} was committed there");
            }

            if (observerTerm < known.FirstSeenCommittedInTerm)
            {
                committed[(int)index] = known with { FirstSeenCommittedInTerm = observerTerm };
            }

            return;
        }

        while ((ulong)committed.Count < index)
        {
            committed.Add(default); // learned later (e.g. a member restored from a snapshot)
        }

        committed.Add(new CommittedEntry(term, hash, observerTerm));
    }

    /// <summary>Leader completeness (Raft §5.4): a new leader holds every entry committed in earlier terms.</summary>
    private void CheckLeaderCompleteness(SimulatedNode node, Raft raft)
    {
        RaftLog log = raft.Log;
        for (int index = 1; index < committed.Count; index++)
        {
            CommittedEntry entry = committed[index];
            if (entry.Term == 0 || entry.FirstSeenCommittedInTerm >= raft.Term)
            {
                continue;
            }

            if ((ulong)index + 1 < log.FirstIndex)
            {
                continue; // inside the leader's snapshot, which holds only committed state
            }

            if (!log.MatchTerm((ulong)index, entry.Term))
            {
                string property = ackedWrites.ContainsKey((ulong)index) ? "acked write survival" : "leader completeness";
                throw new SimulationViolation(property, $"leader {node.Id} of term {raft.Term} lacks index {index} (term {entry.Term}) committed earlier");
            }
        }
    }

    /// <summary>
    /// At the end: every acknowledged write is in the committed log, and some live member still holds it
    /// (in its log, or covered by its snapshot). A write that no member holds was lost.
    /// </summary>
    public void CheckAcknowledgedWritesSurvived(SimulatedNode[] nodes)
    {
        foreach (KeyValuePair<ulong, (ulong Term, ulong Hash)> acked in ackedWrites)
        {
            if (acked.Key >= (ulong)committed.Count || committed[(int)acked.Key].Term != acked.Value.Term)
            {
                throw new SimulationViolation("acked write survival", $"acknowledged write at {acked.Key}/{acked.Value.Term} is not committed");
            }

            bool held = false;
            foreach (SimulatedNode node in nodes)
            {
                RaftLog log = node.Raft!.Raft.Log;
                held |= acked.Key < log.FirstIndex ? node.AppliedIndex >= acked.Key || log.Committed >= acked.Key : log.MatchTerm(acked.Key, acked.Value.Term);
            }

            if (!held)
            {
                throw new SimulationViolation("acked write survival", $"no member holds the acknowledged write at {acked.Key}/{acked.Value.Term}");
            }
        }
    }
}
