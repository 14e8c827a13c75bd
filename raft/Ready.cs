namespace Sds.Raft;

/// <summary>
/// Everything the core wants done, collected by <see cref="RawNode.GetReady"/>. Valid until
/// <see cref="RawNode.Advance"/>; the lists are reused afterwards, so copy what must outlive it.
/// The order in which to act on it is stated on <see cref="RaftHost"/>.
/// </summary>
public sealed class Ready
{
    internal readonly List<Entry> EntriesList = [];
    internal readonly List<Entry> CommittedEntriesList = [];
    internal readonly List<Message> MessagesList = [];
    internal readonly List<ReadState> ReadStatesList = [];

    // Scratch of RaftHost's ReadySendOrder.LeaderAppendsBeforeSync: Messages split into the leader's replication
    // messages sent before the sync and the rest sent after it. Reused, so the split allocates nothing.
    internal readonly List<Message> BeforeSyncMessagesList = [];
    internal readonly List<Message> AfterSyncMessagesList = [];

    /// <summary>Role after the changes in this Ready.</summary>
    public RaftRole Role { get; internal set; }

    /// <summary>Known leader (0 if none).</summary>
    public ulong Leader { get; internal set; }

    /// <summary>Hard state to persist, or null when unchanged.</summary>
    public HardState? HardState { get; internal set; }

    /// <summary>Entries to append to stable storage before sending <see cref="Messages"/>.</summary>
    public IReadOnlyList<Entry> Entries => EntriesList;

    /// <summary>Snapshot to install in storage and in the state machine, or null.</summary>
    public Snapshot? Snapshot { get; internal set; }

    /// <summary>Entries committed and now to be applied to the state machine, in order.</summary>
    public IReadOnlyList<Entry> CommittedEntries => CommittedEntriesList;

    /// <summary>Messages to send once the entries, snapshot and hard state are durable.</summary>
    public IReadOnlyList<Message> Messages => MessagesList;

    /// <summary>Reads that may be served once the state machine applied their index.</summary>
    public IReadOnlyList<ReadState> ReadStates => ReadStatesList;

    /// <summary>
    /// True when the persisted part must be synced (fsync) before messages are sent: new entries, a snapshot,
    /// or a change of term or vote. A commit-index-only change needs no sync (it can be recovered).
    /// </summary>
    public bool MustSync { get; internal set; }

    /// <summary>
    /// True when <see cref="HardState"/> changes the term or the vote. No message of such a Ready may leave before
    /// the sync: a vote or a term must be durable before anything of that term is said (Raft Figure 2), or a
    /// member that crashes and restarts could vote twice in one term.
    /// </summary>
    public bool ChangesTermOrVote { get; internal set; }

    /// <summary>True when there is something to persist (entries, snapshot or hard state).</summary>
    public bool HasPersistentState => EntriesList.Count > 0 || Snapshot is not null || HardState is not null;

    internal void Clear()
    {
        EntriesList.Clear();
        CommittedEntriesList.Clear();
        MessagesList.Clear();
        ReadStatesList.Clear();
        BeforeSyncMessagesList.Clear();
        AfterSyncMessagesList.Clear();
        HardState = null;
        Snapshot = null;
        MustSync = false;
        ChangesTermOrVote = false;
    }
}
