using System.Collections.Concurrent;
using System.Globalization;
using IoStatusCode = Sds.Proto.V1.IoStatusCode;
using Sds.Raft;
using Sds.Raft.Transport;
using Sds.Storage.Chunks;
using Sds.Storage.Placement;
using Sds.Storage.RaftLog;

namespace Sds.Storage.Replication;

/// <summary>
/// A storage node's Multi-Raft event loop: one thread owns every PG replica on the node. Each cycle it ticks
/// (on the <see cref="StorageNodeOptions.TickInterval"/>), steps queued messages and client operations,
/// gathers every group's Ready, persists all of them with one synced RocksDB batch (group commit), sends the
/// messages batched per destination node, applies committed entries to the chunk store and answers clients
/// — the order of raft/RaftHost.cs (Raft thesis §3.8: respond only after persisting), except that a leader's
/// Appends and heartbeats leave before the sync (thesis §10.2.1, <see cref="ReadySendOrder.LeaderAppendsBeforeSync"/>).
/// </summary>
/// <remarks>
/// Other threads talk to it only through a bounded inbox (<see cref="StorageNodeOptions.InboxCapacityItems"/>):
/// Raft messages beyond it are dropped (Raft retries), client operations get BUSY.
/// </remarks>
internal sealed class StorageNodeHost : IRaftMessageHandler, IRaftTransportReporter, IReadyHandler, IAsyncDisposable
{
    private readonly StorageNodeOptions options;
    private readonly IChunkStore store;
    private readonly RaftLogEngine engine;
    private readonly IPlacementSource placement;
    private readonly ConcurrentQueue<LoopItem> inbox = new();
    private readonly SemaphoreSlim wake = new(0);
    private readonly CancellationTokenSource stopping = new();
    private readonly Dictionary<ulong, PgReplica> replicas = [];
    private readonly ConcurrentDictionary<uint, PgView> views = new();
    private readonly List<RawNode> nodes = [];
    private readonly List<IRaftLogStorage> storages = [];
    private readonly List<PgReplica> ordered = [];
    private readonly Dictionary<ulong, string> memberNames = [];
    private Ready?[] readies = [];
    private RaftTransportClient? transport;
    private IPgSnapshotFetcher? fetcher;
    private Thread? thread;
    private int inboxCount;
    private bool syncFailed;
    private bool flushInFlight;
    private long ticks;
    private bool sweepDue = true;
    private bool sweepInFlight;
    private readonly Queue<ChunkKey> garbage = new();

    public StorageNodeHost(StorageNodeOptions options, IChunkStore store, RaftLogEngine engine, IPlacementSource placement)
    {
        this.options = options;
        this.store = store;
        this.engine = engine;
        this.placement = placement;
    }

    public ulong NodeId => options.NodeId;

    public IChunkStore Store => store;

    public IPlacementSource Placement => placement;

    /// <summary>Group-commit counter (synced batch writes), for tests.</summary>
    public long SyncedCommits => engine.SyncedCommits;

    /// <summary>Starts the loop; replicas are created for every PG whose assignment names this node.</summary>
    public void Start(RaftTransportClient transportClient, IPgSnapshotFetcher snapshotFetcher)
    {
        Invariant.Assert(thread is null, "started once");
        transport = transportClient;
        fetcher = snapshotFetcher;
        placement.Changed += OnPlacementChanged;
        thread = new Thread(Run) { IsBackground = true, Name = "sds-pg-loop-" + options.NodeId.ToString(CultureInfo.InvariantCulture) };
        Reconcile(force: true);
        thread.Start();
    }

    /// <summary>
    /// Raised on the loop thread when a replica's applied Raft configuration changed (rare: membership steps);
    /// handlers must be quick. <c>sds storage</c> logs it, so rebuilds can be followed.
    /// </summary>
    public event Action<PgView>? MembershipChanged;

    /// <summary>
    /// Raised on the loop thread for each snapshot message's fate (pg, snapshot index, sender, what happened); rare,
    /// handlers must be quick. <c>sds storage</c> logs it.
    /// </summary>
    public event Action<uint, ulong, ulong, string>? SnapshotEvent;

    /// <summary>
    /// Raised on the loop thread when a committed entry failed to apply on this replica for a reason the other
    /// replicas need not share (pg, index, status): its chunks may now differ from theirs. <c>sds storage</c> logs it.
    /// </summary>
    public event Action<uint, ulong, string>? ApplyFailed;

    /// <summary>The published state of a PG replica on this node, or null when it hosts none.</summary>
    public PgView? View(uint pgId) => views.TryGetValue(pgId, out PgView? view) ? view : null;

    /// <summary>Every PG replica view (tests, status).</summary>
    public IEnumerable<PgView> Views => views.Values;

    /// <summary>Proposes a command on PG <paramref name="pgId"/>; completes when applied (or refused).</summary>
    public Task<PgResult> ProposeAsync(uint pgId, ulong epoch, byte[] payload) => Submit(new PgOperation(PgOperationKind.Propose, pgId, epoch, payload));

    /// <summary>Completes when a read of PG <paramref name="pgId"/> may be served locally (leader lease, thesis §6.4.1).</summary>
    public Task<PgResult> ReadBarrierAsync(uint pgId, ulong epoch) => Submit(new PgOperation(PgOperationKind.Read, pgId, epoch, null));

    /// <summary>
    /// Runs <paramref name="action"/> on the loop thread, serialized with every apply (a repair that must not
    /// race a newer write of the same block). False when the inbox refused it.
    /// </summary>
    public bool TryInvoke(Action action) => TryEnqueue(new LoopItem(LoopItemKind.Invoke, 0, State: action));

    /// <summary>
    /// Every replica's Raft state as text, read on the loop thread (diagnostics: <c>sds storage</c> prints it on
    /// SIGQUIT, so a stalled PG can be seen from outside: role, indexes, a leader's view of each member).
    /// </summary>
    public async Task<string> DescribeStateAsync(CancellationToken cancellationToken)
    {
        var text = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!TryInvoke(() => text.TrySetResult(DescribeState())))
        {
            return "storage node loop refused the request (inbox full or stopping)";
        }

        return await text.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private string DescribeState()
    {
        var text = new System.Text.StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"node {options.NodeId}: {ordered.Count} replicas, inbox {Volatile.Read(ref inboxCount)}, ticks {ticks}, flush in flight {flushInFlight}, unreachable reports {UnreachableReports}\n");
        foreach (PgReplica replica in ordered)
        {
            RawNode node = replica.Node;
            ConfState conf = node.ConfState;
            text.Append(CultureInfo.InvariantCulture, $"pg {replica.PgId} {node.Role} term {node.Term} leader {node.Leader} commit {node.Committed} applied {replica.Applied} last {node.LastIndex} first {replica.Log.FirstIndex} durable-applied {replica.Log.DurableApplied} epoch {replica.Epoch} fetching {replica.FetchingSnapshot} waiters {replica.HasWaiters} voters [{string.Join(',', conf.Voters)}] learners [{string.Join(',', conf.Learners)}]");
            foreach (ulong member in conf.Voters.Concat(conf.Learners))
            {
                if (member != options.NodeId && node.TryGetProgress(member, out FollowerProgress progress))
                {
                    text.Append(CultureInfo.InvariantCulture, $" | {member}: match {progress.Match} next {progress.Next} {progress.State} active {progress.RecentActive}");
                }
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Admission of a write's log bytes against the Raft-log disk (librocksdb aborts on ENOSPC).</summary>
    public ChunkStatus AdmitProposal(long bytes) => engine.AdmitProposal(bytes);

    private Task<PgResult> Submit(PgOperation operation)
    {
        if (!TryEnqueue(new LoopItem(LoopItemKind.Operation, operation.PgId + 1UL, Operation: operation)))
        {
            operation.Complete(new PgResult(IoStatusCode.Busy, Message: "storage node inbox full"));
        }

        return operation.Completion.Task;
    }

    /// <inheritdoc/>
    public bool Deliver(ulong groupId, ulong groupEpoch, Message message) => TryEnqueue(new LoopItem(LoopItemKind.RaftMessage, groupId, message));

    /// <inheritdoc/>
    public void ReportUnreachable(ulong groupId, ulong toMemberId)
    {
        Interlocked.Increment(ref unreachableReports);
        TryEnqueue(new LoopItem(LoopItemKind.Unreachable, groupId, Member: toMemberId));
    }

    /// <summary>Messages the transport dropped (each puts that follower's progress back to probing).</summary>
    public long UnreachableReports => Interlocked.Read(ref unreachableReports);

    private long unreachableReports;

    /// <inheritdoc/>
    public void ReportSnapshot(ulong groupId, ulong toMemberId, bool failed) => TryEnqueue(new LoopItem(LoopItemKind.SnapshotStatus, groupId, Member: toMemberId, Failed: failed));

    private void OnPlacementChanged() => TryEnqueue(new LoopItem(LoopItemKind.PlacementChanged, 0));

    private bool TryEnqueue(in LoopItem item)
    {
        if (stopping.IsCancellationRequested || Interlocked.Increment(ref inboxCount) > options.InboxCapacityItems)
        {
            Interlocked.Decrement(ref inboxCount);
            return false;
        }

        inbox.Enqueue(item);
        if (wake.CurrentCount == 0)
        {
            wake.Release();
        }

        return true;
    }

    private void Run()
    {
        TimeProvider time = options.TimeProvider;
        long nextTick = time.GetTimestamp();
        long nextFlush = nextTick;
        long tickTicks = (long)(options.TickInterval.TotalSeconds * time.TimestampFrequency);
        long flushTicks = (long)(options.FlushInterval.TotalSeconds * time.TimestampFrequency);
        while (!stopping.IsCancellationRequested)
        {
            long now = time.GetTimestamp();
            if (now < nextTick)
            {
                int waitMs = (int)Math.Max(1, (nextTick - now) * 1000 / time.TimestampFrequency);
                wake.Wait(Math.Min(waitMs, 100));
                now = time.GetTimestamp();
            }

            if (now >= nextTick)
            {
                nextTick = now + tickTicks;
                ticks++;
                foreach (PgReplica replica in ordered)
                {
                    // A replica fetching snapshot data is frozen (see StepMessage): it must not campaign either.
                    if (!replica.FetchingSnapshot)
                    {
                        replica.Node.Tick();
                    }
                }

                if (ticks % 5 == 0)
                {
                    Reconcile(force: false);
                }

                if ((sweepDue || ticks % SweepEveryTicks == 0) && !sweepInFlight && ticks > SweepEveryTicks / 10)
                {
                    StartSweep();
                }
            }

            DrainInbox();
            RunCycle();
            CollectGarbage();
            if (now >= nextFlush && !flushInFlight)
            {
                nextFlush = now + flushTicks;
                StartFlush(new FlushRequestState(options.LogRetainEntries, null));
            }
        }

        var stoppingResult = new PgResult(IoStatusCode.Busy, Message: "storage node stopping");
        foreach (PgReplica replica in ordered)
        {
            replica.FailAllWaiters(stoppingResult);
        }

        // Operations queued but never drained must still be answered (TryEnqueue refuses new ones by now).
        while (inbox.TryDequeue(out LoopItem item))
        {
            item.Operation?.Complete(stoppingResult);
            (item.State as FlushRequestState)?.Done?.TrySetResult();
        }

        engine.Commit(sync: true);
    }

    private void DrainInbox()
    {
        // Bounded per cycle so a flood of messages cannot starve ticks and the Ready cycle.
        for (int drained = 0; drained < 16384 && inbox.TryDequeue(out LoopItem item); drained++)
        {
            Interlocked.Decrement(ref inboxCount);
            Dispatch(item);
        }
    }

    private void Dispatch(in LoopItem item)
    {
        if (item.Kind == LoopItemKind.PlacementChanged)
        {
            Reconcile(force: true);
            return;
        }

        if (item.Kind == LoopItemKind.Flushed)
        {
            FinishFlush((FlushRequestState)item.State!);
            return;
        }

        if (item.Kind == LoopItemKind.Invoke)
        {
            ((Action)item.State!)();
            return;
        }

        if (item.Kind == LoopItemKind.CompactNow)
        {
            StartFlush((FlushRequestState)item.State!);
            return;
        }

        if (!replicas.TryGetValue(item.GroupId, out PgReplica? replica))
        {
            item.Operation?.Complete(new PgResult(IoStatusCode.PgNotFound, Message: "this node holds no replica of the PG"));
            return;
        }

        switch (item.Kind)
        {
            case LoopItemKind.RaftMessage:
                StepMessage(replica, item.Message!);
                break;
            case LoopItemKind.Unreachable:
                replica.Node.ReportUnreachable(item.Member);
                break;
            case LoopItemKind.SnapshotStatus:
                replica.Node.ReportSnapshot(item.Member, item.Failed);
                break;
            case LoopItemKind.SnapshotFetched:
                replica.FetchingSnapshot = false;
                SnapshotEvent?.Invoke(replica.PgId, item.Message!.Snapshot!.Metadata.Index, item.Message.From, item.Failed ? "fetch failed" : "fetched");
                if (!item.Failed)
                {
                    replica.Node.Step(item.Message!);
                }

                break;
            case LoopItemKind.Operation:
                PgOperation operation = item.Operation!;
                if (operation.Epoch != 0 && operation.Epoch != replica.Epoch)
                {
                    operation.Complete(new PgResult(IoStatusCode.StaleEpoch, replica.Node.Leader, replica.Epoch, Message: "route epoch differs from the PG's"));
                }
                else if (operation.Kind == PgOperationKind.Read)
                {
                    replica.QueueRead(operation);
                }
                else
                {
                    replica.Propose(operation);
                }

                break;
            default:
                throw new System.Diagnostics.UnreachableException("every loop item kind is handled");
        }
    }

    private void StepMessage(PgReplica replica, Message message)
    {
        if (replica.FetchingSnapshot)
        {
            // While its chunk data is being replaced the replica must neither learn a commit index nor apply: a
            // fetched piece is the sender's data as of its read, and an entry applied here meanwhile could be
            // overwritten by an older value and then skipped when the snapshot restores (Raft §7 discards the
            // log up to the snapshot). Dropped messages are retransmitted by Raft.
            return;
        }

        if (message.Type == MessageType.Snapshot)
        {
            HandleSnapshotMessage(replica, message);
            return;
        }

        if (message.Type == MessageType.AppendResponse && engine.SyncOwed)
        {
            // raft/RaftHost.cs rule (b): this leader may have sent entries before a sync that then failed, and the
            // core counts its own log at append — an acknowledgement stepped now could commit an entry durable
            // only on the follower. Dropped until a sync succeeds; the follower is probed again (Raft §5.3).
            return;
        }

        replica.Node.Step(message);
    }

    /// <summary>
    /// A PG snapshot is its chunk data (raft.proto Snapshot: "empty for a PG"). The message is held until the data
    /// is stored, so this replica never acknowledges a snapshot it does not have (Raft §7) — but the data is
    /// fetched only when Raft will restore the snapshot and nothing else can change the replica meanwhile.
    /// </summary>
    private void HandleSnapshotMessage(PgReplica replica, Message message)
    {
        RawNode node = replica.Node;
        ulong index = message.Snapshot!.Metadata.Index;
        if (message.Term < node.Term || index <= node.Committed)
        {
            // Raft will not restore it (a stale term, or §7: nothing past our commit index — a duplicate sent
            // while an earlier snapshot was being fetched). Step it so the leader learns our index, and leave the
            // chunk data alone: the sender's data may be older than what this replica applied, and no entry would
            // be applied again over it (issue #6: a block regressed to an old sequence on one replica).
            SnapshotEvent?.Invoke(replica.PgId, index, message.From, "not fetched: Raft would not restore it (committed " + node.Committed.ToString(CultureInfo.InvariantCulture) + ")");
            node.Step(message);
            return;
        }

        if (fetcher is null || node.Role != RaftRole.Follower || replica.Applied != node.Committed)
        {
            // Committed entries are still to be applied (a restart's replay), or this replica is not a follower:
            // fetching now would race those applies. Dropped; the leader sends the snapshot again after its
            // next probe.
            return;
        }

        replica.FetchingSnapshot = true;
        SnapshotEvent?.Invoke(replica.PgId, index, message.From, "fetching (applied " + replica.Applied.ToString(CultureInfo.InvariantCulture) + ")");
        _ = FetchSnapshotAsync(replica.GroupId, replica.PgId, message);
    }

    private async Task FetchSnapshotAsync(ulong groupId, uint pgId, Message message)
    {
        bool ok = await fetcher!.FetchAsync(pgId, message.From, stopping.Token).ConfigureAwait(false);
        // The replica stays frozen until this item is handled, so it must get in (the inbox may be full for a moment).
        while (!TryEnqueue(new LoopItem(LoopItemKind.SnapshotFetched, groupId, message, Failed: !ok)) && !stopping.IsCancellationRequested)
        {
            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    private void RunCycle()
    {
        foreach (PgReplica replica in ordered)
        {
            replica.RequestReadIndex();
        }

        syncFailed = false;
        // Raft thesis §10.2.1: leaders' Appends and heartbeats leave before the group commit's fsync, so a write
        // costs max(leader fsync, network + follower fsync) instead of their sum. Safe because this loop is
        // sequential — acknowledgements are stepped only in a later DrainInbox, after this sync completed — and
        // after a failed sync nothing is sent and no append response stepped until one succeeds (raft/RaftHost.cs
        // rules (a)–(c); RaftLogEngine.SyncOwed).
        RaftHost.HandleReadyBatch(nodes, storages, readies, this, ReadySendOrder.LeaderAppendsBeforeSync);
        if (!syncFailed)
        {
            // Commit-index-only hard states and applied indexes need no sync (they can be recovered).
            engine.Commit(sync: false);
        }

        foreach (PgReplica replica in ordered)
        {
            replica.FailWaitersIfNotLeader();
            Publish(replica);
        }
    }

    /// <inheritdoc/>
    public void Sync()
    {
        ChunkStatus status = engine.Commit(sync: true);
        // On failure (NoSpace, I/O) the batch stays staged and this cycle's messages are not sent: nothing
        // that is not durable is ever acknowledged, and Raft retransmits (thesis §3.8).
        syncFailed = status != ChunkStatus.Ok;
    }

    /// <inheritdoc/>
    public void Send(int groupIndex, IReadOnlyList<Message> messages)
    {
        // A failed sync (this cycle's or an earlier one still unpaid) withholds every message: whatever it would
        // say may rest on entries, votes or terms that are not durable. Raft retransmits (thesis §3.8).
        if (syncFailed || engine.SyncOwed)
        {
            return;
        }

        PgReplica replica = ordered[groupIndex];
        foreach (Message message in messages)
        {
            transport!.Send(MemberName(message.To), replica.GroupId, replica.Epoch, message);
        }
    }

    /// <inheritdoc/>
    public void ApplySnapshot(int groupIndex, Snapshot snapshot) => ordered[groupIndex].SnapshotApplied(snapshot.Metadata.Index, snapshot.Data.Span);

    /// <inheritdoc/>
    public void Apply(int groupIndex, IReadOnlyList<Entry> committedEntries, IReadOnlyList<ReadState> readStates)
        => ordered[groupIndex].Apply(committedEntries, readStates);

    private string MemberName(ulong member)
    {
        if (!memberNames.TryGetValue(member, out string? name))
        {
            name = member.ToString(CultureInfo.InvariantCulture);
            memberNames[member] = name;
        }

        return name;
    }

    private void Publish(PgReplica replica)
    {
        PgView view = views[replica.PgId];
        RawNode node = replica.Node;
        view.Role = node.Role;
        view.Leader = node.Leader;
        view.Term = node.Term;
        view.Committed = node.Committed;
        view.Applied = replica.Applied;
        view.Epoch = replica.Epoch;
        view.FirstLogIndex = replica.Log.FirstIndex;
        view.RememberedRequests = replica.RememberedRequests;
        ConfState conf = node.ConfState;
        if (!SameMembers(view.Voters, conf.Voters) || !SameMembers(view.Learners, conf.Learners))
        {
            view.Voters = [.. conf.Voters];
            view.Learners = [.. conf.Learners];
            MembershipChanged?.Invoke(view);
        }
    }

    private static bool SameMembers(IReadOnlyList<ulong> a, IReadOnlyList<ulong> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (int i = 0; i < a.Count; i++)
        {
            if (a[i] != b[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Creates replicas for PGs placed on this node, and on PGs this node leads walks the Raft configuration
    /// one single-server step towards the assignment (Raft thesis §4.1; raft/README.md: add learner →
    /// catch up → promote → remove). Runs every few ticks, so a refused step (learner not caught up) is retried.
    /// </summary>
    private void Reconcile(bool force)
    {
        for (uint pg = 0; pg < placement.PlacementGroupCount; pg++)
        {
            PlacementGroupAssignment assignment = placement.GetAssignment(pg);
            ulong groupId = pg + 1UL;
            if (!replicas.TryGetValue(groupId, out PgReplica? replica))
            {
                if (force && assignment.Contains(options.NodeId))
                {
                    CreateReplica(assignment);
                }

                continue;
            }

            replica.Epoch = assignment.Epoch;
            ConfState conf = replica.Node.ConfState;
            if (!assignment.Contains(options.NodeId) && !conf.IsVoter(options.NodeId) && !conf.Learners.Contains(options.NodeId))
            {
                // Placement no longer names this node and the group no longer counts it: the replica is gone
                // for good. Not on applying a RemoveNode of itself alone: a replica re-added later replays the
                // log, and an old removal in it must not destroy the new member.
                DestroyReplica(replica);
                continue;
            }

            if (replica.Node.Role == RaftRole.Leader)
            {
                StepMembership(replica, assignment);
            }
        }
    }

    private void StepMembership(PgReplica replica, PlacementGroupAssignment assignment)
    {
        RawNode node = replica.Node;
        ConfState conf = node.ConfState;
        foreach (ulong member in assignment.Voters.Concat(assignment.Learners))
        {
            if (!conf.IsVoter(member) && !conf.Learners.Contains(member))
            {
                node.ProposeConfChange(new ConfChange(ConfChangeType.AddLearner, member));
                return;
            }
        }

        foreach (ulong voter in assignment.Voters)
        {
            if (conf.Learners.Contains(voter))
            {
                node.ProposeConfChange(new ConfChange(ConfChangeType.PromoteLearner, voter));
                return;
            }
        }

        foreach (ulong member in conf.Voters.Concat(conf.Learners))
        {
            if (!assignment.Contains(member))
            {
                if (member == options.NodeId)
                {
                    // A leader does not remove itself while it could hand over first (thesis §3.10, §4.2.2).
                    ulong successor = assignment.Voters.FirstOrDefault(conf.IsVoter);
                    if (successor != 0)
                    {
                        node.TransferLeadership(successor);
                        return;
                    }
                }

                node.ProposeConfChange(new ConfChange(ConfChangeType.RemoveNode, member));
                return;
            }
        }
    }

    private void CreateReplica(PlacementGroupAssignment assignment)
    {
        ulong groupId = assignment.PgId + 1UL;
        // The first placement's voters bootstrap the group (whatever epoch this node sees first: meta records
        // them once, so no two replicas can bootstrap different configurations); a node added later starts
        // empty and learns its configuration from the leader (log or snapshot), as a learner first.
        // RaftLogStorage.Open uses the bootstrap only for a group it has never seen.
        ConfState bootstrap = Array.IndexOf(assignment.Bootstrap, options.NodeId) >= 0
            ? new ConfState([.. assignment.Bootstrap], [])
            : ConfState.Empty;
        RaftLogStorage log = RaftLogStorage.Open(engine, groupId, bootstrap);
        ulong applied = Math.Min(log.DurableApplied, log.HardState.Commit);
        if (log.Snapshot(out Snapshot? snapshot) == StorageStatus.Ok && applied < snapshot!.Metadata.Index)
        {
            applied = 0;
        }

        var node = new RawNode(new RaftConfig
        {
            Id = options.NodeId,
            Storage = log,
            ElectionTicks = options.ElectionTicks,
            HeartbeatTicks = options.HeartbeatTicks,
            ReadOnly = ReadOnlyOption.LeaseBased,
            Applied = applied,
            Random = new SplitMix64Random(options.NodeId * 1_000_003UL + groupId),
        });
        var replica = new PgReplica(assignment.PgId, assignment.Epoch, node, log, store, (pg, index, result) => ApplyFailed?.Invoke(pg, index, result.Code.ToString() + " " + result.Message));
        replicas[groupId] = replica;
        views[assignment.PgId] = new PgView(assignment.PgId);
        RebuildOrder();
        Publish(replica);
    }

    private void DestroyReplica(PgReplica replica)
    {
        replica.FailAllWaiters(new PgResult(IoStatusCode.PgNotFound, Message: "replica removed from the PG"));
        replica.Log.StageDestroy();
        engine.Commit(sync: true);
        replicas.Remove(replica.GroupId);
        views.TryRemove(replica.PgId, out _);
        RebuildOrder();
        sweepDue = true;
    }

    /// <summary>Ticks between two sweeps for chunks of PGs this node no longer hosts (besides one after each removal).</summary>
    private const long SweepEveryTicks = 3000;

    /// <summary>Chunk deletions per loop cycle, so a large removed PG does not hold the loop.</summary>
    private const int GarbageChunksPerCycle = 32;

    /// <summary>
    /// Lists the store's chunks off the loop thread and queues those of PGs this node neither hosts nor is placed
    /// on: a replica removed from a PG (drain, rebuild elsewhere, removal while this node was down) leaves its
    /// chunk files behind, and only this node can free them. The list is only a candidate set; the loop decides.
    /// </summary>
    private void StartSweep()
    {
        sweepDue = false;
        sweepInFlight = true;
        _ = Task.Run(() =>
        {
            var chunks = new List<ChunkKey>();
            if (store.ListChunks(null, chunks) != ChunkStatus.Ok)
            {
                chunks.Clear();
            }

            while (!TryInvoke(() =>
            {
                sweepInFlight = false;
                foreach (ChunkKey chunk in chunks)
                {
                    garbage.Enqueue(chunk);
                }
            }) && !stopping.IsCancellationRequested)
            {
                Thread.Sleep(1);
            }
        });
    }

    /// <summary>
    /// Deletes a few queued candidate chunks, each only if — checked now, on the loop thread that creates replicas —
    /// its PG has no replica here and placement does not name this node: a PG re-added meanwhile keeps its chunks
    /// (its new replica fetches a snapshot over them anyway).
    /// </summary>
    private void CollectGarbage()
    {
        if (garbage.Count == 0)
        {
            return; // every cycle: nothing but this check unless a sweep queued candidates
        }

        int pgCount = placement.PlacementGroupCount;
        for (int deleted = 0; deleted < GarbageChunksPerCycle && garbage.TryDequeue(out ChunkKey chunk);)
        {
            if (pgCount == 0)
            {
                garbage.Clear();
                return;
            }

            uint pg = PlacementMath.PgForChunk(chunk.VolumeId, chunk.ChunkIndex, pgCount);
            if (replicas.ContainsKey(pg + 1UL) || placement.GetAssignment(pg).Contains(options.NodeId))
            {
                continue;
            }

            store.DeleteChunk(chunk);
            Interlocked.Increment(ref chunksCollected);
            deleted++;
        }
    }

    /// <summary>Chunks deleted because their PG left this node (tests, metrics).</summary>
    public long ChunksCollected => Interlocked.Read(ref chunksCollected);

    private long chunksCollected;

    private void RebuildOrder()
    {
        ordered.Clear();
        nodes.Clear();
        storages.Clear();
        foreach (PgReplica replica in replicas.Values.OrderBy(static r => r.PgId))
        {
            ordered.Add(replica);
            nodes.Add(replica.Node);
            storages.Add(replica.Log);
        }

        readies = new Ready?[ordered.Count];
    }

    /// <summary>
    /// Flushes the chunk store off the loop thread, then persists each group's applied index as of the flush
    /// start and compacts its log: entries applied before a flush are durable in the chunk store, so a
    /// restart re-applies only what follows (and Raft §7 log compaction may drop them).
    /// </summary>
    private void StartFlush(FlushRequestState request)
    {
        foreach (PgReplica replica in ordered)
        {
            if ((replica.Applied > replica.Log.DurableApplied || request.Done is not null) && !replica.FetchingSnapshot)
            {
                request.Points[replica.GroupId] = (replica, replica.Applied, replica.Node.ConfState);
            }
        }

        if (request.Points.Count == 0 && request.Done is null)
        {
            return;
        }

        flushInFlight = true;
        _ = Task.Run(() =>
        {
            if (store.Flush() != ChunkStatus.Ok)
            {
                request.Points.Clear();
            }

            while (!TryEnqueue(new LoopItem(LoopItemKind.Flushed, 0, State: request)) && !stopping.IsCancellationRequested)
            {
                Thread.Sleep(1);
            }
        });
    }

    private void FinishFlush(FlushRequestState request)
    {
        flushInFlight = false;
        foreach ((ulong groupId, (PgReplica captured, ulong applied, ConfState conf)) in request.Points)
        {
            if (!replicas.TryGetValue(groupId, out PgReplica? replica) || !ReferenceEquals(replica, captured) || applied < replica.Log.DurableApplied)
            {
                continue;
            }

            replica.Log.StageApplied(applied);
            if (replica.EncodeAppliedRequests(applied) is { } requests)
            {
                replica.Log.StageAppliedRequests(requests);
            }
            if (applied > request.RetainEntries && applied - request.RetainEntries >= replica.Log.FirstIndex)
            {
                // Raft §7: the snapshot point is the applied index the flush made durable, with the membership
                // as of that index (captured together on this thread).
                replica.Log.CreateSnapshot(applied, conf, replica.SnapshotRequests(applied), out _);
                replica.Log.Compact(applied - request.RetainEntries);
            }
        }

        if (engine.Commit(sync: false) == ChunkStatus.Ok)
        {
            // Every entry is in RocksDB now: older payloads can leave memory (RaftLogStorage.ReleasePayloads).
            foreach (PgReplica replica in ordered)
            {
                replica.Log.ReleasePayloads();
            }
        }

        request.Done?.TrySetResult();
    }

    /// <summary>
    /// Flushes, persists applied indexes and compacts every group's log keeping <paramref name="retainEntries"/>
    /// now, instead of on the timer (tests force a lagging member onto the snapshot path with it).
    /// </summary>
    public Task CompactNowAsync(ulong retainEntries)
    {
        var request = new FlushRequestState(retainEntries, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!TryEnqueue(new LoopItem(LoopItemKind.CompactNow, 0, State: request)))
        {
            request.Done!.TrySetResult();
        }

        return request.Done!.Task;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        placement.Changed -= OnPlacementChanged;
        await stopping.CancelAsync().ConfigureAwait(false);
        wake.Release();
        thread?.Join(TimeSpan.FromSeconds(10));
        stopping.Dispose();
    }
}
