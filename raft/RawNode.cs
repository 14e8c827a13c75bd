namespace Sds.Raft;

/// <summary>
/// The public face of one Raft member, driven by one thread (no locking inside): feed it
/// <see cref="Tick"/>, <see cref="Step"/> and client calls; when <see cref="HasReady"/> is true take
/// <see cref="GetReady"/>, act on it in the order <see cref="RaftHost"/> documents, then
/// <see cref="Advance"/>. Cheap when idle: <see cref="Tick"/> on a follower and <see cref="HasReady"/>
/// allocate nothing, and the <see cref="Ready"/> object and its lists are reused.
/// </summary>
public sealed class RawNode
{
    private readonly Raft raft;
    private readonly Ready ready = new();
    private HardState previousHardState;
    private RaftRole previousRole;
    private ulong previousLeader;

    // Invariant: at most one Ready is outstanding between GetReady and Advance.
    private bool readyOutstanding;

    /// <summary>Creates (or restarts) a member from its storage.</summary>
    public RawNode(RaftConfig config)
    {
        raft = new Raft(config);
        previousHardState = raft.HardState;
        previousRole = raft.Role;
        previousLeader = raft.Lead;
    }

    /// <summary>This member's id.</summary>
    public ulong Id => raft.Id;

    /// <summary>Current term.</summary>
    public ulong Term => raft.Term;

    /// <summary>Known leader, 0 if none.</summary>
    public ulong Leader => raft.Lead;

    /// <summary>Current role.</summary>
    public RaftRole Role => raft.Role;

    /// <summary>Commit index.</summary>
    public ulong Committed => raft.Log.Committed;

    /// <summary>Applied index (as acknowledged by <see cref="Advance"/>).</summary>
    public ulong Applied => raft.Log.Applied;

    /// <summary>Last log index.</summary>
    public ulong LastIndex => raft.Log.LastIndex;

    /// <summary>Membership as of the applied index; use it for snapshots taken at <see cref="Applied"/>.</summary>
    public ConfState ConfState => raft.Tracker.ToConfState();

    /// <summary>True while a leader holds a valid lease (lease reads need no round trip).</summary>
    public bool LeaseValid => raft.LeaseValid();

    /// <summary>Target of an ongoing leadership transfer, 0 if none.</summary>
    public ulong LeadTransferee => raft.LeadTransferee;

    /// <summary>On a leader, the progress of member <paramref name="id"/>; false elsewhere or for non-members.</summary>
    public bool TryGetProgress(ulong id, out FollowerProgress progress)
    {
        progress = default;
        if (raft.Role != RaftRole.Leader || !raft.Tracker.Progress.TryGetValue(id, out Progress? tracked))
        {
            return false;
        }

        progress = new FollowerProgress(tracked.Match, tracked.Next, tracked.State, tracked.RecentActive, tracked.IsLearner);
        return true;
    }

    /// <summary>The core (tests and the simulator).</summary>
    internal Raft Raft => raft;

    /// <summary>Advances logical time by one tick.</summary>
    public void Tick() => raft.Tick();

    /// <summary>Starts an election now (e.g. to bootstrap faster); ignored on a leader or learner.</summary>
    public void Campaign() => raft.Campaign(transfer: false);

    /// <summary>
    /// Hands a message from another member to the core after checking that it is addressed to us and
    /// well-formed (DESIGN.md §9: network input is hostile until checked). The core asserts these facts, so a
    /// bad message must stop here.
    /// </summary>
    public StepStatus Step(Message message)
    {
        if (message.To != raft.Id || message.From == Raft.None || message.From == raft.Id)
        {
            return StepStatus.WrongAddress;
        }

        if (!IsWellFormed(message))
        {
            return StepStatus.Malformed;
        }

        raft.Step(message);
        return StepStatus.Accepted;
    }

    private static bool IsWellFormed(Message message)
    {
        if (!Enum.IsDefined(message.Type) || message.Term == 0)
        {
            return false;
        }

        if (message.Type == MessageType.Snapshot)
        {
            return message.Snapshot is not null;
        }

        if (message.Type != MessageType.Append)
        {
            return message.Entries.Length == 0;
        }

        // Entries follow the previous index contiguously, with non-decreasing terms no newer than the
        // sender's term and no older than the previous entry's (Raft §5.3 log shape).
        ulong expectedIndex = message.Index + 1;
        ulong previousTerm = message.LogTerm;
        foreach (Entry entry in message.Entries)
        {
            if (entry.Index != expectedIndex || entry.Term < previousTerm || entry.Term > message.Term || entry.Term == 0)
            {
                return false;
            }

            expectedIndex++;
            previousTerm = entry.Term;
        }

        return message.LogTerm <= message.Term;
    }

    /// <summary>Proposes application data. Only a leader accepts; otherwise a sentinel status says why.</summary>
    public ProposeResult Propose(ReadOnlyMemory<byte> data) => raft.Propose(EntryType.Normal, data);

    /// <summary>Proposes a single-server membership change (see <see cref="ConfChange"/>).</summary>
    public ProposeResult ProposeConfChange(ConfChange change) => raft.Propose(EntryType.ConfChange, change.Encode());

    /// <summary>Requests a linearizable read; a <see cref="ReadState"/> with this context follows in a Ready.</summary>
    public ReadIndexStatus ReadIndex(ulong requestContext) => raft.ReadIndex(requestContext);

    /// <summary>Hands leadership to <paramref name="target"/> (Raft thesis §3.10).</summary>
    public TransferStatus TransferLeadership(ulong target) => raft.TransferLeadership(target);

    /// <summary>The transport failed to deliver to <paramref name="to"/>.</summary>
    public void ReportUnreachable(ulong to) => raft.ReportUnreachable(to);

    /// <summary>The transport finished sending a snapshot to <paramref name="to"/>, or failed to.</summary>
    public void ReportSnapshot(ulong to, bool failed) => raft.ReportSnapshot(to, failed);

    /// <summary>True when there is anything to persist, send, apply or report. Allocates nothing.</summary>
    public bool HasReady
    {
        get
        {
            if (readyOutstanding)
            {
                return false;
            }

            RaftLog log = raft.Log;
            return raft.Messages.Count > 0
                || raft.ReadStates.Count > 0
                || log.UnstableEntries.Count > 0
                || log.UnstableSnapshot is not null
                || log.HasNextCommittedEntries
                || raft.HardState != previousHardState
                || raft.Role != previousRole
                || raft.Lead != previousLeader;
        }
    }

    /// <summary>Collects the pending work. Call <see cref="Advance"/> before the next call.</summary>
    public Ready GetReady()
    {
        Invariant.Assert(!readyOutstanding, "GetReady called twice without Advance");
        readyOutstanding = true;
        RaftLog log = raft.Log;
        ready.Clear();
        ready.Role = raft.Role;
        ready.Leader = raft.Lead;
        ready.Snapshot = log.UnstableSnapshot;
        ready.EntriesList.AddRange(log.UnstableEntries);
        log.NextCommittedEntries(ready.CommittedEntriesList);
        raft.OnCommittedEntriesHandedOut(ready.CommittedEntriesList);

        ready.MessagesList.AddRange(raft.Messages);
        raft.Messages.Clear();
        ready.ReadStatesList.AddRange(raft.ReadStates);
        raft.ReadStates.Clear();

        HardState hardState = raft.HardState;
        if (hardState != previousHardState)
        {
            ready.HardState = hardState;
        }

        ready.ChangesTermOrVote = hardState.Term != previousHardState.Term || hardState.Vote != previousHardState.Vote;
        ready.MustSync = ready.EntriesList.Count > 0 || ready.Snapshot is not null || ready.ChangesTermOrVote;
        previousRole = raft.Role;
        previousLeader = raft.Lead;
        return ready;
    }

    /// <summary>
    /// Acknowledges that <paramref name="done"/> was persisted, sent and applied: unstable entries become
    /// stable, the applied index moves, and membership changes among the applied entries take effect.
    /// </summary>
    public void Advance(Ready done)
    {
        Invariant.Assert(readyOutstanding && ReferenceEquals(done, ready), "Advance without a matching GetReady");
        RaftLog log = raft.Log;
        if (done.HardState is { } hardState)
        {
            previousHardState = hardState;
        }

        if (done.Snapshot is not null)
        {
            log.StableSnapshotTo(done.Snapshot.Metadata.Index);
            raft.OnSnapshotApplied(done.Snapshot.Metadata.Index);
        }

        if (done.EntriesList.Count > 0)
        {
            Entry last = done.EntriesList[^1];
            log.StableTo(last.Index, last.Term);
        }

        raft.OnApplied(done.CommittedEntriesList);
        done.Clear();
        readyOutstanding = false;
    }
}
