namespace Sds.Raft;

/// <summary>
/// The leader's view of one member (Raft Figure 2 nextIndex/matchIndex, plus flow-control state).
/// </summary>
internal sealed class Progress
{
    /// <summary>Creates progress for a member whose next entry to send is <paramref name="next"/>.</summary>
    public Progress(ulong next, int maxInflightMessages, bool isLearner)
    {
        Next = next;
        Inflights = new Inflights(maxInflightMessages);
        IsLearner = isLearner;
    }

    /// <summary>Highest index known replicated on the member. Invariant: Match &lt; Next.</summary>
    public ulong Match { get; private set; }

    /// <summary>Next index to send.</summary>
    public ulong Next { get; private set; }

    /// <summary>Flow-control state.</summary>
    public ProgressState State { get; private set; }

    /// <summary>Snapshot index being sent, in <see cref="ProgressState.Snapshot"/>.</summary>
    public ulong PendingSnapshot { get; private set; }

    /// <summary>In <see cref="ProgressState.Probe"/>: an Append is outstanding, so wait for its answer or a heartbeat.</summary>
    public bool ProbeSent { get; set; }

    /// <summary>Heard from the member since the last CheckQuorum round (Raft thesis §6.2).</summary>
    public bool RecentActive { get; set; }

    /// <summary>A learner: replicated to, but neither votes nor counts toward commitment.</summary>
    public bool IsLearner { get; set; }

    /// <summary>Pipelined Appends in flight (<see cref="ProgressState.Replicate"/>).</summary>
    public Inflights Inflights { get; }

    /// <summary>Highest read-index round the member acknowledged this term.</summary>
    public ulong ReadRoundAck { get; set; }

    /// <summary>Highest leader tick echoed by the member's heartbeat responses this term (lease).</summary>
    public ulong LeaseAckTick { get; set; }

    /// <summary>True when nothing more may be sent now.</summary>
    public bool IsPaused => State switch
    {
        ProgressState.Probe => ProbeSent,
        ProgressState.Replicate => Inflights.IsFull,
        _ => true,
    };

    /// <summary>Resets for a new leader term: probing from <paramref name="next"/>.</summary>
    public void ResetForTerm(ulong next)
    {
        Match = 0;
        Next = next;
        State = ProgressState.Probe;
        PendingSnapshot = 0;
        ProbeSent = false;
        RecentActive = false;
        Inflights.Reset();
        ReadRoundAck = 0;
        LeaseAckTick = 0;
    }

    /// <summary>Enters probing from Match + 1.</summary>
    public void BecomeProbe()
    {
        // After a snapshot, probe from the snapshot index (or beyond) rather than what we had.
        ulong next = State == ProgressState.Snapshot ? Math.Max(Match + 1, PendingSnapshot + 1) : Match + 1;
        ResetState(ProgressState.Probe);
        Next = next;
    }

    /// <summary>Enters pipelined replication from Match + 1.</summary>
    public void BecomeReplicate()
    {
        ResetState(ProgressState.Replicate);
        Next = Match + 1;
    }

    /// <summary>Enters snapshot state while <paramref name="snapshotIndex"/> is sent.</summary>
    public void BecomeSnapshot(ulong snapshotIndex)
    {
        ResetState(ProgressState.Snapshot);
        PendingSnapshot = snapshotIndex;
    }

    /// <summary>Sending the snapshot failed: the next probe starts from Match + 1 again.</summary>
    public void SnapshotFailed() => PendingSnapshot = 0;

    /// <summary>An acknowledgement up to <paramref name="index"/>; true when Match moved.</summary>
    public bool MaybeUpdate(ulong index)
    {
        bool updated = false;
        if (Match < index)
        {
            Match = index;
            updated = true;
            ProbeSent = false;
        }

        Next = Math.Max(Next, index + 1);
        return updated;
    }

    /// <summary>Optimistically assumes entries up to <paramref name="lastIndex"/> will land (pipelining).</summary>
    public void OptimisticUpdate(ulong lastIndex) => Next = lastIndex + 1;

    /// <summary>
    /// A rejection of the Append at <paramref name="rejected"/> suggesting <paramref name="hint"/> as the probe
    /// point. False when the rejection is stale (it answers an older message).
    /// </summary>
    public bool MaybeDecreaseTo(ulong rejected, ulong hint)
    {
        if (State == ProgressState.Replicate)
        {
            if (rejected <= Match)
            {
                return false;
            }

            Next = Match + 1;
            return true;
        }

        if (Next - 1 != rejected)
        {
            return false;
        }

        Next = Math.Max(Math.Min(rejected, hint + 1), Match + 1);
        ProbeSent = false;
        return true;
    }

    private void ResetState(ProgressState state)
    {
        ProbeSent = false;
        PendingSnapshot = 0;
        State = state;
        Inflights.Reset();
    }
}
