namespace Sds.Raft;

/// <summary>
/// The Raft consensus core of one group member: a pure, deterministic state machine. Input arrives only
/// through <see cref="Step"/>, <see cref="Tick"/> and the proposal methods; output accumulates in
/// <see cref="Messages"/> and <see cref="ReadStates"/> and in the log's unstable tail, collected by
/// <see cref="RawNode"/> into a <see cref="Ready"/>. No I/O, no clock, no threads; randomness is injected.
/// </summary>
internal sealed class Raft
{
    /// <summary>The id meaning "no node".</summary>
    public const ulong None = 0;

    private readonly RaftConfig config;
    private readonly IRaftRandom random;
    private readonly Dictionary<ulong, bool> votes = [];
    private readonly List<Message> messages = [];
    private readonly List<ReadState> readStates = [];
    private readonly Queue<PendingRead> pendingReads = new();
    private readonly List<Entry> scratchEntries = [];

    // Ticks since the last reset of the election timer: since we last heard from a leader (follower), since
    // the campaign began (candidate), or since the last CheckQuorum round (leader).
    private int electionElapsed;
    private int heartbeatElapsed;

    // Invariant: ElectionTicks <= randomizedElectionTimeout < 2 * ElectionTicks.
    private int randomizedElectionTimeout;

    // Monotonic tick count of this incarnation; the leader lease is measured in it.
    private ulong tickCount;

    // After a restart we don't know whether we recently acknowledged a leader whose lease is running, so we
    // refuse votes for one election timeout, as if we had just heard from one (leader lease, thesis §6.4.1).
    // A brand-new member (no persisted state) never acknowledged anyone and needs no guard.
    private bool startupLeaseGuard;

    // Set once this leader sends TimeoutNow: the transferee's forced election ignores leases, so ours is over
    // for the rest of the term.
    private bool leaseRevoked;

    // Heartbeat rounds sent for ReadIndex this term; followers echo the round they saw (thesis §6.4).
    private ulong readRound;

    // Bytes a leader appended this term that were not yet handed out as committed (MaxUncommittedBytes).
    private ulong uncommittedBytes;

    /// <summary>Creates the core from the persisted state in <see cref="RaftConfig.Storage"/>.</summary>
    public Raft(RaftConfig config)
    {
        config.Validate();
        this.config = config;
        random = config.Random ?? new SplitMix64Random(config.Id);
        IRaftLogStorage storage = config.Storage;
        Id = config.Id;

        // The state machine starts from the latest snapshot (or from nothing), and so does membership.
        ConfState confState = storage.ConfState;
        ulong snapshotIndex = storage.FirstIndex - 1;
        if (storage.Snapshot(out Snapshot? snapshot) == StorageStatus.Ok && snapshot is not null)
        {
            confState = snapshot.Metadata.ConfState;
            snapshotIndex = snapshot.Metadata.Index;
        }

        Log = new RaftLog(storage, snapshotIndex, config.MaxCommittedSizePerReadyBytes);
        Tracker = new ProgressTracker(config.MaxInflightMessages);
        Tracker.Reset(confState, Log.LastIndex + 1);

        HardState hardState = storage.HardState;
        startupLeaseGuard = !hardState.IsEmpty;
        if (!hardState.IsEmpty)
        {
            Invariant.Assert(hardState.Commit <= Log.LastIndex, "persisted commit index beyond the last entry");
            Term = hardState.Term;
            Vote = hardState.Vote;
            Log.CommitTo(hardState.Commit);
        }

        if (config.Applied > Log.Applied)
        {
            // Membership as of the applied index: replay the changes between the snapshot and it.
            Invariant.Assert(config.Applied <= Log.Committed, "applied index beyond the commit index");
            ReplayConfChanges(Log.Applied + 1, config.Applied);
            Log.AppliedTo(config.Applied);
        }

        BecomeFollower(Term, None);
    }

    /// <summary>This member's id.</summary>
    public ulong Id { get; }

    /// <summary>Current term (Raft Figure 2).</summary>
    public ulong Term { get; private set; }

    /// <summary>Candidate voted for in <see cref="Term"/>, or <see cref="None"/>.</summary>
    public ulong Vote { get; private set; }

    /// <summary>The leader of <see cref="Term"/> as far as we know, or <see cref="None"/>.</summary>
    public ulong Lead { get; private set; }

    /// <summary>Current role.</summary>
    public RaftRole Role { get; private set; }

    /// <summary>The log.</summary>
    public RaftLog Log { get; }

    /// <summary>Membership and, on the leader, replication progress.</summary>
    public ProgressTracker Tracker { get; }

    /// <summary>Target of an ongoing leadership transfer, or <see cref="None"/>.</summary>
    public ulong LeadTransferee { get; private set; }

    /// <summary>
    /// Index of the last membership change that may be unapplied; a new change waits until
    /// <see cref="RaftLog.Applied"/> reaches it (one change at a time, thesis §4.1).
    /// </summary>
    public ulong PendingConfIndex { get; private set; }

    /// <summary>Outgoing messages, in order.</summary>
    public List<Message> Messages => messages;

    /// <summary>Reads ready to be served once applied.</summary>
    public List<ReadState> ReadStates => readStates;

    /// <summary>The persistent state to save.</summary>
    public HardState HardState => new(Term, Vote, Log.Committed);

    /// <summary>Reads this member answered from its lease (tests and metrics).</summary>
    internal long LeaseReads { get; private set; }

    /// <summary>Ticks since the election timer was reset (tests).</summary>
    internal int ElectionElapsed => electionElapsed;

    /// <summary>Ticks this incarnation has seen.</summary>
    internal ulong TickCount => tickCount;

    // ---------------------------------------------------------------------------------------------------
    // Time.

    /// <summary>Advances logical time by one tick.</summary>
    public void Tick()
    {
        tickCount++;
        if (Role == RaftRole.Leader)
        {
            TickHeartbeat();
        }
        else
        {
            TickElection();
        }

        AssertInvariants();
    }

    /// <summary>Cheap cross-field invariants, checked after every input (they stay on in Release).</summary>
    private void AssertInvariants()
    {
        Invariant.Assert(Log.Applied <= Log.Committed && Log.Committed <= Log.LastIndex, "Applied <= Committed <= LastIndex");
        Invariant.Assert(randomizedElectionTimeout >= config.ElectionTicks && randomizedElectionTimeout < 2 * config.ElectionTicks, "election timeout in [T, 2T)");
        if (Role == RaftRole.Leader)
        {
            Invariant.Assert(Lead == Id && Vote == Id, "a leader leads and voted for itself");
            Invariant.Assert(Tracker.Progress.ContainsKey(Id), "a leader is a member");
        }
        else
        {
            Invariant.Assert(LeadTransferee == None && pendingReads.Count == 0, "only leaders transfer or confirm reads");
            Invariant.Assert(Role != RaftRole.Candidate || Vote == Id, "a candidate voted for itself");
        }
    }

    private void TickElection()
    {
        electionElapsed++;
        if (electionElapsed >= config.ElectionTicks)
        {
            startupLeaseGuard = false;
        }

        if (IsPromotable() && electionElapsed >= randomizedElectionTimeout)
        {
            electionElapsed = 0;
            Campaign(transfer: false);
        }
    }

    private void TickHeartbeat()
    {
        heartbeatElapsed++;
        electionElapsed++;
        if (electionElapsed >= config.ElectionTicks)
        {
            electionElapsed = 0;

            // Raft thesis §6.2: a leader that cannot reach a majority for an election timeout steps down,
            // so clients find the real leader and lease reads stop.
            if (config.CheckQuorum && !Tracker.QuorumActiveAndReset(Id))
            {
                BecomeFollower(Term, None);
                return;
            }

            // Raft thesis §3.10: a transfer that didn't finish within an election timeout is abandoned.
            if (LeadTransferee != None)
            {
                LeadTransferee = None;
            }
        }

        if (heartbeatElapsed >= config.HeartbeatTicks)
        {
            heartbeatElapsed = 0;
            BroadcastHeartbeat(0);
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // Role transitions.

    /// <summary>Becomes a follower of <paramref name="lead"/> (or of nobody) in <paramref name="term"/>.</summary>
    public void BecomeFollower(ulong term, ulong lead)
    {
        Invariant.Assert(term >= Term, "terms never decrease");
        Reset(term);
        Role = RaftRole.Follower;
        Lead = lead;
    }

    private void BecomePreCandidate()
    {
        Invariant.Assert(Role != RaftRole.Leader, "invalid transition leader -> pre-candidate");

        // Thesis §9.6: a pre-candidate changes neither its term nor its vote.
        Role = RaftRole.PreCandidate;
        votes.Clear();
        Lead = None;
        startupLeaseGuard = false;
    }

    private void BecomeCandidate()
    {
        Invariant.Assert(Role != RaftRole.Leader, "invalid transition leader -> candidate");
        Reset(Term + 1);
        Vote = Id;
        Role = RaftRole.Candidate;
        startupLeaseGuard = false;
    }

    private void BecomeLeader()
    {
        Invariant.Assert(Role == RaftRole.Candidate, "invalid transition to leader from a non-candidate");
        Reset(Term);
        Role = RaftRole.Leader;
        Lead = Id;
        Progress self = Tracker.Progress[Id];
        self.BecomeReplicate();
        self.RecentActive = true;

        // Raft §5.4.2 / §8: an entry of the new term lets the leader commit its predecessors' entries and
        // learn the commit index before serving reads (thesis §6.4).
        AppendEntry(EntryType.Normal, ReadOnlyMemory<byte>.Empty);

        // Membership changes wait until that entry is applied: a change proposed by a new leader must not
        // race an uncommitted change of a previous term (the single-server bug fix, thesis §4.1 errata).
        PendingConfIndex = Log.LastIndex;
    }

    private void Reset(ulong term)
    {
        if (Term != term)
        {
            Term = term;
            Vote = None;
        }

        Lead = None;
        electionElapsed = 0;
        heartbeatElapsed = 0;
        randomizedElectionTimeout = config.ElectionTicks + random.Next(config.ElectionTicks);
        LeadTransferee = None;
        votes.Clear();
        ulong next = Log.LastIndex + 1;
        foreach (KeyValuePair<ulong, Progress> pair in Tracker.Progress)
        {
            pair.Value.ResetForTerm(next);
            if (pair.Key == Id)
            {
                pair.Value.MaybeUpdate(Log.LastIndex);
            }
        }

        PendingConfIndex = 0;
        pendingReads.Clear();
        readRound = 0;
        leaseRevoked = false;
        uncommittedBytes = 0;
    }

    /// <summary>Voters may campaign; learners and removed members may not.</summary>
    private bool IsPromotable() => Tracker.IsVoter(Id) && Log.UnstableSnapshot is null;

    // ---------------------------------------------------------------------------------------------------
    // Elections (Raft §5.2, thesis §9.6 pre-vote, thesis §3.10 transfer).

    /// <summary>Starts an election (or pre-election) now, as on an election timeout.</summary>
    public void Campaign(bool transfer)
    {
        if (Role == RaftRole.Leader || !IsPromotable())
        {
            return;
        }

        // A member must not campaign while it has committed but unapplied membership changes: it might be
        // campaigning under a configuration it is about to leave.
        if (HasUnappliedConfChange())
        {
            return;
        }

        if (config.PreVote && !transfer)
        {
            BecomePreCandidate();
            RequestVotes(MessageType.PreVote, Term + 1, transfer: false);
        }
        else
        {
            BecomeCandidate();
            RequestVotes(MessageType.Vote, Term, transfer);
        }
    }

    private void RequestVotes(MessageType type, ulong term, bool transfer)
    {
        MessageType responseType = type == MessageType.Vote ? MessageType.VoteResponse : MessageType.PreVoteResponse;
        if (Poll(Id, responseType, granted: true) == VoteResult.Won)
        {
            // A single-voter group wins at once.
            OnElectionWon(responseType);
            return;
        }

        ulong lastIndex = Log.LastIndex;
        ulong lastTerm = Log.LastTerm;
        foreach (ulong voter in Tracker.Voters)
        {
            if (voter != Id)
            {
                Send(new Message { Type = type, To = voter, Term = term, Index = lastIndex, LogTerm = lastTerm, Transfer = transfer });
            }
        }
    }

    private VoteResult Poll(ulong from, MessageType responseType, bool granted)
    {
        Invariant.Assert(responseType is MessageType.VoteResponse or MessageType.PreVoteResponse, "poll of a non-vote response");
        votes.TryAdd(from, granted);
        return Tracker.TallyVotes(votes);
    }

    private void OnElectionWon(MessageType responseType)
    {
        if (responseType == MessageType.PreVoteResponse)
        {
            BecomeCandidate();
            RequestVotes(MessageType.Vote, Term, transfer: false);
        }
        else
        {
            BecomeLeader();
            BroadcastAppend();
        }
    }

    private bool HasUnappliedConfChange()
    {
        if (Log.Committed <= Log.Applied)
        {
            return false;
        }

        scratchEntries.Clear();
        for (ulong low = Log.Applied + 1; low <= Log.Committed;)
        {
            scratchEntries.Clear();
            if (Log.Slice(low, Log.Committed + 1, config.MaxCommittedSizePerReadyBytes, scratchEntries) != StorageStatus.Ok)
            {
                return false;
            }

            foreach (Entry entry in scratchEntries)
            {
                if (entry.Type == EntryType.ConfChange)
                {
                    scratchEntries.Clear();
                    return true;
                }
            }

            low = scratchEntries[^1].Index + 1;
        }

        scratchEntries.Clear();
        return false;
    }

    /// <summary>
    /// While a follower heard from a leader within the election timeout (or just restarted), it ignores
    /// vote requests (Raft thesis §4.2.3), which both stops removed members from disrupting the group and
    /// underpins the leader lease (thesis §6.4.1).
    /// </summary>
    private bool InLease() =>
        config.CheckQuorum && electionElapsed < config.ElectionTicks && (Lead != None || startupLeaseGuard);

    // ---------------------------------------------------------------------------------------------------
    // Message handling.

    /// <summary>Handles one message from another member. Stale and misdirected messages are ignored.</summary>
    public void Step(Message m)
    {
        Invariant.Assert(m.To == Id, "message delivered to the wrong member");
        if (m.Term > Term)
        {
            if (m.Type is MessageType.Vote or MessageType.PreVote && !m.Transfer && InLease())
            {
                // Thesis §4.2.3: we heard from a live leader; this candidate can't win, ignore it.
                return;
            }

            if (m.Type == MessageType.PreVote || (m.Type == MessageType.PreVoteResponse && !m.Reject))
            {
                // Thesis §9.6: pre-votes never change terms. A granted response carries the future term.
            }
            else if (m.Type is MessageType.Append or MessageType.Heartbeat or MessageType.Snapshot)
            {
                BecomeFollower(m.Term, m.From);
            }
            else
            {
                BecomeFollower(m.Term, None);
            }
        }
        else if (m.Term < Term)
        {
            if ((config.CheckQuorum || config.PreVote) && m.Type is MessageType.Append or MessageType.Heartbeat)
            {
                // A stale leader (e.g. one partitioned away, whose followers moved on) learns our term from
                // this answer and steps down; ignoring it would leave it leading a minority forever. With
                // PreVote this also frees a member whose term rose in a failed campaign: the pre-votes it asks
                // for next are refused by up-to-date logs, and only a new election at a higher term lets the
                // leader of the old term reach it again (the leader must step down first).
                Send(new Message { Type = MessageType.AppendResponse, To = m.From, Term = Term });
            }
            else if (m.Type == MessageType.PreVote)
            {
                Send(new Message { Type = MessageType.PreVoteResponse, To = m.From, Term = Term, Reject = true });
            }

            return;
        }

        switch (m.Type)
        {
            case MessageType.Vote:
            case MessageType.PreVote:
                HandleVoteRequest(m);
                return;
            default:
                break;
        }

        switch (Role)
        {
            case RaftRole.Leader:
                StepLeader(m);
                break;
            case RaftRole.Candidate:
            case RaftRole.PreCandidate:
                StepCandidate(m);
                break;
            default:
                StepFollower(m);
                break;
        }

        AssertInvariants();
    }

    private void HandleVoteRequest(Message m)
    {
        // Raft §5.2: one vote per term, first come first served; a repeated request from the candidate we
        // voted for is granted again (its first answer may have been lost). Thesis §9.6: a pre-vote for a
        // higher term may be granted whatever we voted in ours.
        bool canVote = Vote == m.From
            || (Vote == None && Lead == None)
            || (m.Type == MessageType.PreVote && m.Term > Term);

        // Raft §5.4.1: only for a candidate whose log is at least as up-to-date as ours.
        bool upToDate = config.TestOnlyUnsafeSkipVoteLogCheck || Log.IsUpToDate(m.Index, m.LogTerm);
        MessageType responseType = m.Type == MessageType.Vote ? MessageType.VoteResponse : MessageType.PreVoteResponse;
        if (canVote && upToDate)
        {
            // The response carries the candidate's term so that it counts in that (pre-)election.
            Send(new Message { Type = responseType, To = m.From, Term = m.Term });
            if (m.Type == MessageType.Vote)
            {
                electionElapsed = 0;
                Vote = m.From;
            }
        }
        else
        {
            Send(new Message { Type = responseType, To = m.From, Term = Term, Reject = true });
        }
    }

    private void StepFollower(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Append:
                electionElapsed = 0;
                Lead = m.From;
                HandleAppend(m);
                break;
            case MessageType.Heartbeat:
                electionElapsed = 0;
                Lead = m.From;
                HandleHeartbeat(m);
                break;
            case MessageType.Snapshot:
                electionElapsed = 0;
                Lead = m.From;
                HandleSnapshot(m);
                break;
            case MessageType.TimeoutNow:
                // Thesis §3.10: the leader asked us to take over; campaign at once, past any lease.
                Campaign(transfer: true);
                break;
            case MessageType.ReadIndexResponse:
                readStates.Add(new ReadState(m.Index, m.Context));
                break;
            default:
                // Responses addressed to an earlier role of ours.
                break;
        }
    }

    private void StepCandidate(Message m)
    {
        MessageType myResponseType = Role == RaftRole.PreCandidate ? MessageType.PreVoteResponse : MessageType.VoteResponse;
        switch (m.Type)
        {
            case MessageType.Append:
                // Raft §5.2: another server established itself as leader of our term.
                BecomeFollower(m.Term, m.From);
                HandleAppend(m);
                break;
            case MessageType.Heartbeat:
                BecomeFollower(m.Term, m.From);
                HandleHeartbeat(m);
                break;
            case MessageType.Snapshot:
                BecomeFollower(m.Term, m.From);
                HandleSnapshot(m);
                break;
            case MessageType.VoteResponse:
            case MessageType.PreVoteResponse:
                if (m.Type != myResponseType)
                {
                    break;
                }

                switch (Poll(m.From, m.Type, !m.Reject))
                {
                    case VoteResult.Won:
                        OnElectionWon(m.Type);
                        break;
                    case VoteResult.Lost:
                        BecomeFollower(Term, None);
                        break;
                    default:
                        break;
                }

                break;
            default:
                break;
        }
    }

    private void StepLeader(Message m)
    {
        if (!Tracker.Progress.TryGetValue(m.From, out Progress? progress))
        {
            return;
        }

        switch (m.Type)
        {
            case MessageType.AppendResponse:
                progress.RecentActive = true;
                HandleAppendResponse(m, progress);
                break;
            case MessageType.HeartbeatResponse:
                progress.RecentActive = true;
                HandleHeartbeatResponse(m, progress);
                break;
            case MessageType.ReadIndex:
                // A follower's forwarded read; if it can't be served now it is dropped and the client retries.
                StartRead(m.From, m.Context);
                break;
            default:
                break;
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // Replication: follower side.

    private void HandleAppend(Message m)
    {
        if (m.Index < Log.Committed)
        {
            // Everything up to our commit index already matches the leader (Raft §5.4 leader completeness).
            Send(new Message { Type = MessageType.AppendResponse, To = m.From, Term = Term, Index = Log.Committed });
            return;
        }

        if (Log.MaybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries, out ulong lastNewIndex))
        {
            Send(new Message { Type = MessageType.AppendResponse, To = m.From, Term = Term, Index = lastNewIndex });
            return;
        }

        // Raft §5.3: reject, with a hint that lets the leader skip every entry of a conflicting term at once.
        ulong hintIndex = Math.Min(m.Index, Log.LastIndex);
        (ulong conflictIndex, ulong conflictTerm) = Log.FindConflictByTerm(hintIndex, m.LogTerm);
        Send(new Message
        {
            Type = MessageType.AppendResponse, To = m.From, Term = Term, Index = m.Index,
            Reject = true, RejectHint = conflictIndex, LogTerm = conflictTerm,
        });
    }

    private void HandleHeartbeat(Message m)
    {
        // The leader sends min(our match, its commit), so this never exceeds what matches the leader.
        Log.CommitTo(Math.Min(m.Commit, Log.LastIndex));
        Send(new Message { Type = MessageType.HeartbeatResponse, To = m.From, Term = Term, Context = m.Context, LeaseTick = m.LeaseTick });
    }

    private void HandleSnapshot(Message m)
    {
        Snapshot snapshot = m.Snapshot!;
        Invariant.Assert(snapshot is not null, "snapshot message without a snapshot");
        if (Restore(snapshot))
        {
            Send(new Message { Type = MessageType.AppendResponse, To = m.From, Term = Term, Index = Log.LastIndex });
        }
        else
        {
            Send(new Message { Type = MessageType.AppendResponse, To = m.From, Term = Term, Index = Log.Committed });
        }
    }

    /// <summary>Raft §7 InstallSnapshot receiver. False when the snapshot brings nothing new.</summary>
    private bool Restore(Snapshot snapshot)
    {
        SnapshotMetadata metadata = snapshot.Metadata;
        if (metadata.Index <= Log.Committed)
        {
            return false;
        }

        if (Log.MatchTerm(metadata.Index, metadata.Term))
        {
            // Step 6: we already hold the entry; keep the log and just learn the commit index.
            Log.CommitTo(metadata.Index);
            return false;
        }

        // Step 7: discard the whole log and load the snapshot, including its membership.
        Log.Restore(snapshot);
        Tracker.Reset(metadata.ConfState, Log.LastIndex + 1);
        return true;
    }

    // ---------------------------------------------------------------------------------------------------
    // Replication: leader side.

    private void HandleAppendResponse(Message m, Progress progress)
    {
        if (m.Reject)
        {
            // Fast backtracking: jump over the follower's conflicting term using our own log.
            ulong nextProbe = m.RejectHint;
            if (m.LogTerm > 0)
            {
                nextProbe = Log.FindConflictByTerm(m.RejectHint, m.LogTerm).Index;
            }

            if (progress.MaybeDecreaseTo(m.Index, nextProbe))
            {
                if (progress.State == ProgressState.Replicate)
                {
                    progress.BecomeProbe();
                }

                SendAppend(m.From, sendIfEmpty: true);
            }

            return;
        }

        bool wasPaused = progress.IsPaused;
        if (progress.MaybeUpdate(m.Index))
        {
            switch (progress.State)
            {
                case ProgressState.Probe:
                    progress.BecomeReplicate();
                    break;
                case ProgressState.Snapshot when progress.Match >= progress.PendingSnapshot:
                    progress.BecomeProbe();
                    progress.BecomeReplicate();
                    break;
                case ProgressState.Replicate:
                    progress.Inflights.FreeLessOrEqual(m.Index);
                    break;
                default:
                    break;
            }

            if (MaybeCommit())
            {
                BroadcastAppend();
            }
            else if (wasPaused)
            {
                // While paused this follower may have missed the latest commit index; send it even if empty.
                SendAppend(m.From, sendIfEmpty: true);
            }

            // Pipeline: keep sending while the window has room and there is something to send.
            while (SendAppend(m.From, sendIfEmpty: false))
            {
            }

            if (m.From == LeadTransferee && progress.Match == Log.LastIndex)
            {
                SendTimeoutNow(m.From);
            }
        }
    }

    private void HandleHeartbeatResponse(Message m, Progress progress)
    {
        // The follower is alive: resume a paused probe, and let a full window whose Appends may have been
        // lost send again (a rejection then moves it back to probing).
        progress.ProbeSent = false;
        if (progress.State == ProgressState.Replicate && progress.Inflights.IsFull)
        {
            progress.Inflights.FreeFirst();
        }

        if (m.LeaseTick > progress.LeaseAckTick)
        {
            progress.LeaseAckTick = m.LeaseTick;
        }

        if (m.Context > progress.ReadRoundAck)
        {
            progress.ReadRoundAck = m.Context;
        }

        if (progress.Match < Log.LastIndex)
        {
            SendAppend(m.From, sendIfEmpty: true);
        }

        if (m.Context != 0)
        {
            ReleaseConfirmedReads();
        }
    }

    /// <summary>Advances the commit index to what a majority holds, if it is of our term.</summary>
    private bool MaybeCommit()
    {
        ulong quorumIndex = Tracker.QuorumMatchIndex();
        if (config.TestOnlyUnsafeCommitPreviousTerm)
        {
            // Deliberately broken (Raft Figure 8): counting replicas of an earlier term's entry.
            if (quorumIndex > Log.Committed)
            {
                Log.CommitTo(quorumIndex);
                return true;
            }

            return false;
        }

        return Log.MaybeCommit(quorumIndex, Term);
    }

    /// <summary>Sends entries (or a snapshot) to <paramref name="to"/> if flow control allows. True if sent.</summary>
    private bool SendAppend(ulong to, bool sendIfEmpty)
    {
        Progress progress = Tracker.Progress[to];
        if (progress.IsPaused)
        {
            return false;
        }

        ulong previousIndex = progress.Next - 1;
        StorageStatus termStatus = Log.Term(previousIndex, out ulong previousTerm);
        scratchEntries.Clear();
        StorageStatus entriesStatus = StorageStatus.Ok;
        if (termStatus == StorageStatus.Ok && progress.Next <= Log.LastIndex)
        {
            entriesStatus = Log.Slice(progress.Next, Log.LastIndex + 1, config.MaxSizePerMessageBytes, scratchEntries);
        }

        if (termStatus != StorageStatus.Ok || entriesStatus != StorageStatus.Ok)
        {
            scratchEntries.Clear();
            return SendSnapshot(to, progress);
        }

        if (scratchEntries.Count == 0 && !sendIfEmpty)
        {
            return false;
        }

        Entry[] entries = scratchEntries.Count == 0 ? [] : [.. scratchEntries];
        scratchEntries.Clear();
        Send(new Message
        {
            Type = MessageType.Append, To = to, Term = Term, Index = previousIndex, LogTerm = previousTerm,
            Entries = entries, Commit = Log.Committed,
        });

        if (progress.State == ProgressState.Replicate)
        {
            if (entries.Length > 0)
            {
                ulong lastIndex = entries[^1].Index;
                progress.OptimisticUpdate(lastIndex);
                progress.Inflights.Add(lastIndex);
            }
        }
        else
        {
            progress.ProbeSent = true;
        }

        return true;
    }

    private bool SendSnapshot(ulong to, Progress progress)
    {
        if (!progress.RecentActive)
        {
            // Don't ship a snapshot to a member we haven't heard from; it is likely down.
            return false;
        }

        if (config.Storage.Snapshot(out Snapshot? snapshot) != StorageStatus.Ok || snapshot is null)
        {
            return false;
        }

        Invariant.Assert(snapshot.Metadata.Index + 1 >= Log.FirstIndex, "storage snapshot older than the log's start");
        progress.BecomeSnapshot(snapshot.Metadata.Index);
        Send(new Message { Type = MessageType.Snapshot, To = to, Term = Term, Snapshot = snapshot });
        return true;
    }

    private void BroadcastAppend()
    {
        foreach (KeyValuePair<ulong, Progress> pair in Tracker.Progress)
        {
            if (pair.Key != Id)
            {
                SendAppend(pair.Key, sendIfEmpty: true);
            }
        }
    }

    private void BroadcastHeartbeat(ulong round)
    {
        foreach (KeyValuePair<ulong, Progress> pair in Tracker.Progress)
        {
            if (pair.Key != Id)
            {
                Send(new Message
                {
                    Type = MessageType.Heartbeat, To = pair.Key, Term = Term,
                    Commit = Math.Min(pair.Value.Match, Log.Committed), Context = round, LeaseTick = tickCount,
                });
            }
        }
    }

    private void SendTimeoutNow(ulong to)
    {
        leaseRevoked = true;
        Send(new Message { Type = MessageType.TimeoutNow, To = to, Term = Term });
    }

    private void AppendEntry(EntryType type, ReadOnlyMemory<byte> data)
    {
        Entry entry = new(Term, Log.LastIndex + 1, type, data);
        Log.Append([entry]);
        Tracker.Progress[Id].MaybeUpdate(entry.Index);
        uncommittedBytes += entry.SizeBytes;

        // A single-voter group commits at once.
        MaybeCommit();
    }

    private void Send(Message m)
    {
        Invariant.Assert(m.From == None, "the core stamps the sender itself");
        Invariant.Assert(m.To != Id && m.To != None, "message to self or to nobody");
        m.From = Id;
        messages.Add(m);
    }

    // ---------------------------------------------------------------------------------------------------
    // Client-facing operations.

    /// <summary>Appends a client entry if we are the leader and nothing stands in the way.</summary>
    public ProposeResult Propose(EntryType type, ReadOnlyMemory<byte> data)
    {
        if (Role != RaftRole.Leader)
        {
            return new ProposeResult(Lead == None ? ProposeStatus.DroppedNoLeader : ProposeStatus.NotLeader, 0, 0, Lead);
        }

        if (LeadTransferee != None)
        {
            // Thesis §3.10: the old leader stops accepting requests while it hands over.
            return new ProposeResult(ProposeStatus.DroppedTransferInProgress, 0, 0, Lead);
        }

        if (!Tracker.Progress.ContainsKey(Id))
        {
            return new ProposeResult(ProposeStatus.NotLeader, 0, 0, None);
        }

        if (uncommittedBytes > 0 && uncommittedBytes + (ulong)data.Length > config.MaxUncommittedBytes)
        {
            return new ProposeResult(ProposeStatus.DroppedUncommittedLimit, 0, 0, Lead);
        }

        if (type == EntryType.ConfChange)
        {
            ProposeStatus verdict = CheckConfChange(data.Span);
            if (verdict != ProposeStatus.Accepted)
            {
                return new ProposeResult(verdict, 0, 0, Lead);
            }

            PendingConfIndex = Log.LastIndex + 1;
        }

        AppendEntry(type, data);
        BroadcastAppend();
        return new ProposeResult(ProposeStatus.Accepted, Log.LastIndex, Term, Id);
    }

    private ProposeStatus CheckConfChange(ReadOnlySpan<byte> data)
    {
        if (PendingConfIndex > Log.Applied)
        {
            return ProposeStatus.DroppedConfChangePending;
        }

        if (!ConfChange.TryDecode(data, out ConfChange change))
        {
            return ProposeStatus.RejectedInvalidConfChange;
        }

        bool known = Tracker.Progress.TryGetValue(change.NodeId, out Progress? progress);
        switch (change.Type)
        {
            case ConfChangeType.AddLearner:
                return known ? ProposeStatus.RejectedInvalidConfChange : ProposeStatus.Accepted;
            case ConfChangeType.PromoteLearner:
                if (!known || !progress!.IsLearner)
                {
                    return ProposeStatus.RejectedInvalidConfChange;
                }

                // Thesis §4.2.1: a new voter that can't keep up would stall commitment; promote only when
                // the learner is recently active and close to our last index.
                bool caughtUp = progress.RecentActive && progress.Match + config.LearnerCatchUpMaxLagEntries >= Log.LastIndex;
                return caughtUp ? ProposeStatus.Accepted : ProposeStatus.RejectedLearnerNotCaughtUp;
            case ConfChangeType.RemoveNode:
                if (!known || (Tracker.Voters.Count == 1 && !progress!.IsLearner))
                {
                    return ProposeStatus.RejectedInvalidConfChange;
                }

                return ProposeStatus.Accepted;
            default:
                return ProposeStatus.RejectedInvalidConfChange;
        }
    }

    /// <summary>
    /// Starts a linearizable read (Raft thesis §6.4) tagged <paramref name="requestContext"/>. On a follower
    /// the request is forwarded to the leader (thesis §6.4 "followers can help"); its answer arrives as a
    /// ReadState in a later Ready, or never if the leader changes — the caller times out and retries.
    /// </summary>
    public ReadIndexStatus ReadIndex(ulong requestContext)
    {
        if (Role != RaftRole.Leader)
        {
            if (Role != RaftRole.Follower || Lead == None)
            {
                return ReadIndexStatus.NotLeader;
            }

            Send(new Message { Type = MessageType.ReadIndex, To = Lead, Term = Term, Context = requestContext });
            return ReadIndexStatus.Forwarded;
        }

        return StartRead(None, requestContext);
    }

    /// <summary>Leader side of a read for <paramref name="origin"/> (None = a local client).</summary>
    private ReadIndexStatus StartRead(ulong origin, ulong requestContext)
    {
        // Thesis §6.4 step 1: until an entry of this term is committed, our commit index may be stale.
        if (Log.TermOrZero(Log.Committed) != Term && !config.TestOnlyUnsafeReadBeforeTermCommit)
        {
            return ReadIndexStatus.NotReady;
        }

        if (Tracker.Voters.Count == 1 && Tracker.IsVoter(Id))
        {
            ReleaseRead(new PendingRead(Log.Committed, requestContext, 0, origin));
            return ReadIndexStatus.Accepted;
        }

        if (config.ReadOnly == ReadOnlyOption.LeaseBased && LeaseValid())
        {
            // Thesis §6.4.1: within the lease no other leader can exist, so no round trip is needed.
            LeaseReads++;
            ReleaseRead(new PendingRead(Log.Committed, requestContext, 0, origin));
            return ReadIndexStatus.Accepted;
        }

        if (pendingReads.Count >= config.MaxPendingReads)
        {
            return ReadIndexStatus.DroppedQueueFull;
        }

        // Thesis §6.4 steps 2–3: record the commit index, then confirm leadership with a fresh heartbeat
        // round acknowledged by a majority (sent after the read arrived).
        readRound++;
        pendingReads.Enqueue(new PendingRead(Log.Committed, requestContext, readRound, origin));
        BroadcastHeartbeat(readRound);
        return ReadIndexStatus.Accepted;
    }

    private void ReleaseRead(PendingRead read)
    {
        if (read.Origin == None)
        {
            readStates.Add(new ReadState(read.Index, read.RequestContext));
        }
        else
        {
            // Thesis §6.4: the follower serves the read once it has applied up to this index.
            Send(new Message { Type = MessageType.ReadIndexResponse, To = read.Origin, Term = Term, Index = read.Index, Context = read.RequestContext });
        }
    }

    /// <summary>
    /// Thesis §6.4.1 leader lease. Followers that acknowledged a heartbeat sent at leader tick t ignore vote
    /// requests until they have ticked ElectionTicks since receiving it (<see cref="InLease"/>), so no other
    /// leader can be elected before tick t + ElectionTicks on their clocks. With clocks drifting by at most
    /// MaxClockDriftTicks per timeout (theirs running fast), the lease ends at t + ElectionTicks − MaxClockDriftTicks on ours. A
    /// transfer (forced election) ends it.
    /// </summary>
    public bool LeaseValid()
    {
        if (Role != RaftRole.Leader || !config.CheckQuorum || leaseRevoked || LeadTransferee != None || !Tracker.IsVoter(Id))
        {
            return false;
        }

        ulong start = Tracker.QuorumLeaseTick(Id, tickCount);
        ulong durationTicks = (ulong)(config.ElectionTicks - config.MaxClockDriftTicks);
        if (config.TestOnlyUnsafeLeaseExtensionTicks > 0)
        {
            // Deliberately broken: a lease longer than followers' vote-refusal window.
            durationTicks += (ulong)config.TestOnlyUnsafeLeaseExtensionTicks;
        }

        return start > 0 && tickCount < start + durationTicks;
    }

    private void ReleaseConfirmedReads()
    {
        if (pendingReads.Count == 0 || !Tracker.IsVoter(Id))
        {
            return;
        }

        ulong confirmedRound = Tracker.QuorumReadRound(Id, readRound);
        while (pendingReads.Count > 0 && pendingReads.Peek().Round <= confirmedRound)
        {
            ReleaseRead(pendingReads.Dequeue());
        }
    }

    /// <summary>Starts a leadership transfer to <paramref name="target"/> (Raft thesis §3.10).</summary>
    public TransferStatus TransferLeadership(ulong target)
    {
        if (Role != RaftRole.Leader)
        {
            return TransferStatus.NotLeader;
        }

        if (target == Id || !Tracker.IsVoter(target))
        {
            return TransferStatus.InvalidTarget;
        }

        if (LeadTransferee == target)
        {
            return TransferStatus.Started;
        }

        LeadTransferee = target;

        // The transfer must finish within an election timeout, else it is abandoned (TickHeartbeat).
        electionElapsed = 0;
        Progress progress = Tracker.Progress[target];
        if (progress.Match == Log.LastIndex)
        {
            SendTimeoutNow(target);
        }
        else
        {
            SendAppend(target, sendIfEmpty: true);
        }

        return TransferStatus.Started;
    }

    /// <summary>The transport could not deliver to <paramref name="to"/>: stop pipelining and probe.</summary>
    public void ReportUnreachable(ulong to)
    {
        if (Role == RaftRole.Leader && Tracker.Progress.TryGetValue(to, out Progress? progress) && progress.State == ProgressState.Replicate)
        {
            progress.BecomeProbe();
        }
    }

    /// <summary>The transport finished (or failed) sending a snapshot to <paramref name="to"/>.</summary>
    public void ReportSnapshot(ulong to, bool failed)
    {
        if (Role != RaftRole.Leader || !Tracker.Progress.TryGetValue(to, out Progress? progress) || progress.State != ProgressState.Snapshot)
        {
            return;
        }

        // Either way, probe next and wait for a heartbeat response before sending: after success the
        // follower's append response moves us to replicate; after a failure we resume from Match + 1.
        if (failed)
        {
            progress.SnapshotFailed();
        }

        progress.BecomeProbe();
        progress.ProbeSent = true;
    }

    // ---------------------------------------------------------------------------------------------------
    // Ready bookkeeping (driven by RawNode).

    /// <summary>Committed entries were handed to the host; a leader's uncommitted budget shrinks.</summary>
    public void OnCommittedEntriesHandedOut(List<Entry> entries)
    {
        if (Role != RaftRole.Leader)
        {
            return;
        }

        foreach (Entry entry in entries)
        {
            uncommittedBytes = uncommittedBytes > entry.SizeBytes ? uncommittedBytes - entry.SizeBytes : 0;
        }
    }

    /// <summary>The host applied <paramref name="entries"/>; membership changes among them take effect now.</summary>
    public void OnApplied(List<Entry> entries)
    {
        foreach (Entry entry in entries)
        {
            if (entry.Type == EntryType.ConfChange)
            {
                ApplyConfChange(entry);
            }
        }

        if (entries.Count > 0)
        {
            Log.AppliedTo(entries[^1].Index);
        }
    }

    /// <summary>The host applied the restored snapshot.</summary>
    public void OnSnapshotApplied(ulong index) => Log.SnapshotApplied(index);

    private void ReplayConfChanges(ulong low, ulong high)
    {
        List<Entry> entries = [];
        StorageStatus status = Log.Slice(low, high + 1, ulong.MaxValue, entries);
        Invariant.Assert(status == StorageStatus.Ok, "applied entries must be in the log");
        foreach (Entry entry in entries)
        {
            if (entry.Type == EntryType.ConfChange)
            {
                ApplyConfChange(entry);
            }
        }
    }

    private void ApplyConfChange(Entry entry)
    {
        if (!ConfChange.TryDecode(entry.Data.Span, out ConfChange change))
        {
            return;
        }

        if (!Tracker.Apply(change, Log.LastIndex + 1))
        {
            return;
        }

        if (Role != RaftRole.Leader)
        {
            return;
        }

        if (!Tracker.IsVoter(Id))
        {
            // Thesis §4.2.2: a leader removed from the configuration steps down once the change is applied.
            BecomeFollower(Term, None);
            return;
        }

        if (change.Type == ConfChangeType.RemoveNode && LeadTransferee == change.NodeId)
        {
            LeadTransferee = None;
        }

        // The quorum changed: commitment, reads and leases are recomputed against the new voters, and a
        // new learner gets its first probe.
        MaybeCommit();
        BroadcastAppend();
        ReleaseConfirmedReads();
    }
}
