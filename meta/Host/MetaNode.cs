using System.Threading.Channels;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sds.Meta.Membership;
using Sds.Meta.State;
using Sds.Meta.Watch;
using Sds.Proto.V1;
using Sds.Raft;
using ConfChange = Sds.Raft.ConfChange;
using Entry = Sds.Raft.Entry;
using Snapshot = Sds.Raft.Snapshot;
using ConfState = Sds.Raft.ConfState;
using EntryType = Sds.Raft.EntryType;

namespace Sds.Meta.Host;

/// <summary>
/// One member of the meta Raft group: a <see cref="RawNode"/> over a synced <see cref="FileRaftLogStorage"/>,
/// driven by a single loop that owns the node, the log and the <see cref="MetaStateMachine"/>. Everything else
/// (gRPC handlers, the transport, the tick timer) talks to it through a bounded inbox, so the core stays
/// single-threaded as raft/ requires.
/// </summary>
/// <remarks>
/// <para>Loop order per iteration: take inbox items (tick, step, propose, read) → <see cref="RaftHost.HandleReady"/>
/// (persist + fsync → send → apply → serve reads → advance) until no Ready is left → snapshot and compact
/// when <see cref="MetaNodeOptions.SnapshotThresholdEntries"/> entries were applied since the last one.</para>
/// <para>Writes: a proposal is acknowledged when the entry at its (index, term) is applied; a different term
/// at that index, or losing leadership first, answers <see cref="MetaCallStatus.OutcomeUnknown"/> and the
/// client retries with the same request id (applied once by the state machine).</para>
/// <para>Reads: <see cref="ReadAsync{T}"/> is linearizable (ReadIndex, Raft thesis §6.4, Safe mode: confirmed
/// by a heartbeat quorum); <see cref="QueryAsync{T}"/> reads the local state as applied so far.</para>
/// </remarks>
internal sealed class MetaNode : IReadyHandler, IAsyncDisposable
{
    private const int InboxCapacity = 65_536;
    private const int InboxBatchMax = 1_024;

    private readonly MetaNodeOptions options;
    private readonly IRaftMessageSender sender;
    private readonly ILogger logger;
    private readonly FileRaftLogStorage storage;
    private readonly RawNode node;
    private readonly Channel<MetaWork> inbox = Channel.CreateBounded<MetaWork>(new BoundedChannelOptions(InboxCapacity) { SingleReader = true });
    private readonly Dictionary<ulong, (ulong Term, TaskCompletionSource<MetaResult<CommandOutcome>> Completion)> pendingProposals = [];
    private readonly Dictionary<ulong, MetaWork> pendingReads = [];
    private readonly List<(ulong Index, MetaWork Work)> confirmedReads = [];
    private readonly List<MetaWork> deferredReads = [];
    private readonly CancellationTokenSource stopping = new();
    private ITimer? tickTimer;
    private Task? loop;
    private ulong appliedIndex;
    private ulong lastIndex;
    private ConfState membership = ConfState.Empty;
    private ulong snapshotIndex;
    private ulong readContext;
    private ulong lastLeader;
    private bool wasLeader;
    private int ticksSinceFailureCheck;

    /// <summary>Opens the log in <see cref="MetaNodeOptions.DataDirectory"/> and restores the state from its snapshot.</summary>
    public MetaNode(MetaNodeOptions options, IRaftMessageSender sender, ILoggerFactory? loggerFactory = null)
    {
        Invariant.Assert(options.Voters.Contains(options.Id), "a member is one of the voters");
        this.options = options;
        this.sender = sender;
        logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Sds.Meta");
        State = new MetaStateMachine(options.DefaultReplicas);
        Detector = new FailureDetector(options.Time, options.NodeDownTimeout, options.NodeOutTimeout);
        StartedEmpty = !File.Exists(Path.Combine(options.DataDirectory, "raft.log"));
        storage = FileRaftLogStorage.Open(options.DataDirectory, new ConfState([.. options.Voters], []));
        if (storage.Snapshot(out Snapshot? snapshot) == StorageStatus.Ok && snapshot is not null && !snapshot.Data.IsEmpty)
        {
            State.Restore(MetaState.Parser.ParseFrom(snapshot.Data.Span));
            appliedIndex = snapshot.Metadata.Index;
            snapshotIndex = appliedIndex;
        }

        node = new RawNode(new RaftConfig
        {
            Id = options.Id,
            Storage = storage,
            ElectionTicks = options.ElectionTicks,
            HeartbeatTicks = options.HeartbeatTicks,
            ReadOnly = ReadOnlyOption.Safe,
            Random = new SplitMix64Random((ulong)Environment.TickCount64 ^ (options.Id * 0x9E3779B97F4A7C15UL)),
        });
    }

    /// <summary>The cluster state; touch only from the host thread (inside a read or query).</summary>
    internal MetaStateMachine State { get; }

    /// <summary>Liveness bookkeeping of registered nodes (fed by heartbeats on the leader).</summary>
    public FailureDetector Detector { get; }

    /// <summary>Cluster-map change feed for watchers.</summary>
    public ClusterMapFeed Feed { get; } = new();

    /// <summary>This member's Raft id.</summary>
    public ulong Id => options.Id;

    /// <summary>Leader as last seen by the loop (0 if none); safe from any thread.</summary>
    public ulong LeaderId => Volatile.Read(ref lastLeader);

    /// <summary>Voters of the bootstrap configuration (the --peers list).</summary>
    public IReadOnlyList<ulong> BootstrapVoters => options.Voters;

    /// <summary>Number of voters.</summary>
    public int VoterCount => options.Voters.Count;

    /// <summary>Index of the latest local snapshot (for tests and status).</summary>
    public ulong SnapshotIndex => Volatile.Read(ref snapshotIndex);

    /// <summary>True when the member started without a log (first start, or its data directory was lost).</summary>
    public bool StartedEmpty { get; }

    /// <summary>Last index in the local log, as of the last loop iteration.</summary>
    public ulong LastIndex => Volatile.Read(ref lastIndex);

    /// <summary>Group membership as of the last loop iteration.</summary>
    public ConfState Membership => Volatile.Read(ref membership);

    /// <summary>Index applied to the state machine.</summary>
    public ulong AppliedIndex => Volatile.Read(ref appliedIndex);

    /// <summary>Starts the tick timer and the host loop.</summary>
    public void Start()
    {
        Invariant.Assert(loop is null, "started once");
        if (options.Voters.Count == 1)
        {
            node.Campaign(); // a one-member group needs no election timeout to find out it wins
        }

        tickTimer = options.Time.CreateTimer(static s => ((MetaNode)s!).inbox.Writer.TryWrite(MetaWork.TickWork), this, options.TickInterval, options.TickInterval);
        loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Delivers a Raft message from a peer (any thread). False when the inbox is full: dropped, Raft retransmits.</summary>
    public bool Deliver(Message message) => inbox.Writer.TryWrite(new MetaWork { Kind = MetaWorkKind.Step, Message = message });

    /// <summary>Tells Raft a peer was unreachable (any thread).</summary>
    public void ReportUnreachable(ulong peer) => inbox.Writer.TryWrite(new MetaWork { Kind = MetaWorkKind.Unreachable, Peer = peer });

    /// <summary>Tells Raft how sending a snapshot ended (any thread).</summary>
    public void ReportSnapshot(ulong peer, bool failed) => inbox.Writer.TryWrite(new MetaWork { Kind = MetaWorkKind.SnapshotReport, Peer = peer, Failed = failed });

    /// <summary>Proposes <paramref name="command"/> and waits until it is applied (or the outcome is unknown).</summary>
    public async Task<MetaResult<CommandOutcome>> ProposeAsync(MetaCommand command, CancellationToken cancellationToken)
    {
        command.Time ??= Timestamp.FromDateTimeOffset(options.Time.GetUtcNow());
        var completion = new TaskCompletionSource<MetaResult<CommandOutcome>>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!await Enqueue(new MetaWork { Kind = MetaWorkKind.Propose, Command = command, Proposal = completion }, cancellationToken))
        {
            return new MetaResult<CommandOutcome>(MetaCallStatus.Stopped, default, 0);
        }

        return await completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Proposes a membership change (leader only) and waits until it is applied. A refusal the caller may retry
    /// (a change pending, learner not caught up) comes back Ok with a FAILED_PRECONDITION outcome naming it.
    /// </summary>
    public async Task<MetaResult<CommandOutcome>> ProposeConfChangeAsync(ConfChange change, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource<MetaResult<CommandOutcome>>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!await Enqueue(new MetaWork { Kind = MetaWorkKind.ConfChange, Change = change, Proposal = completion }, cancellationToken))
        {
            return new MetaResult<CommandOutcome>(MetaCallStatus.Stopped, default, 0);
        }

        return await completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Runs <paramref name="read"/> on the host thread once a ReadIndex round confirms leadership (linearizable).</summary>
    public Task<MetaResult<T>> ReadAsync<T>(Func<MetaStateMachine, T> read, CancellationToken cancellationToken) =>
        RunOnLoop(MetaWorkKind.Read, read, cancellationToken);

    /// <summary>Runs <paramref name="query"/> on the host thread against the state applied so far (may be stale on a follower).</summary>
    public Task<MetaResult<T>> QueryAsync<T>(Func<MetaStateMachine, T> query, CancellationToken cancellationToken) =>
        RunOnLoop(MetaWorkKind.Query, query, cancellationToken);

    /// <summary>Stops the loop and closes the log.</summary>
    public async ValueTask DisposeAsync()
    {
        stopping.Cancel();
        tickTimer?.Dispose();
        inbox.Writer.TryComplete();
        if (loop is not null)
        {
            try
            {
                await loop;
            }
            catch (OperationCanceledException)
            {
            }
        }

        FailEverything(MetaCallStatus.Stopped);
        storage.Dispose();
        stopping.Dispose();
    }

    private async Task<MetaResult<T>> RunOnLoop<T>(MetaWorkKind kind, Func<MetaStateMachine, T> read, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource<MetaResult<object?>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var work = new MetaWork { Kind = kind, Reader = state => read(state), ReadCompletion = completion, Cancellation = cancellationToken };
        if (!await Enqueue(work, cancellationToken))
        {
            return new MetaResult<T>(MetaCallStatus.Stopped, default, 0);
        }

        MetaResult<object?> result = await completion.Task.WaitAsync(cancellationToken);
        return new MetaResult<T>(result.Status, result.Status == MetaCallStatus.Ok ? (T?)result.Value : default, result.LeaderHint);
    }

    private async ValueTask<bool> Enqueue(MetaWork work, CancellationToken cancellationToken)
    {
        try
        {
            await inbox.Writer.WriteAsync(work, cancellationToken);
            return true;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    private async Task RunAsync()
    {
        ChannelReader<MetaWork> reader = inbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stopping.Token))
            {
                for (int taken = 0; taken < InboxBatchMax && reader.TryRead(out MetaWork? work); taken++)
                {
                    Handle(work);
                }

                RetryDeferredReads();
                // Meta stays on the literal order (every message after the fsync): its writes are rare cluster-map
                // changes, not the data path. The parallel order of thesis §10.2.1 (raft/RaftHost.cs) would be safe
                // here too — this loop is sequential and a failed fsync throws and stops the member — but is not
                // worth a second configuration to test.
                while (RaftHost.HandleReady(node, storage, this, ReadySendOrder.AfterSync))
                {
                    ObserveLeadership();
                }

                ObserveLeadership();
                MaybeSnapshot();
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            // A broken invariant or a failed fsync: this member must stop rather than diverge or ack unsynced data.
            logger.LogCritical(exception, "meta member {Id} stopped", options.Id);
            FailEverything(MetaCallStatus.Stopped);
            throw;
        }
    }

    private void Handle(MetaWork work)
    {
        switch (work.Kind)
        {
            case MetaWorkKind.Tick:
                node.Tick();
                if (node.Role == RaftRole.Leader && ++ticksSinceFailureCheck >= 5)
                {
                    ticksSinceFailureCheck = 0;
                    foreach (SetNodeStateCommand verdict in Detector.Check(State.Nodes))
                    {
                        logger.LogInformation("node {Node} is now {State}", verdict.NodeId, verdict.State);
                        ProposeInternal(new MetaCommand { SetNodeState = verdict, Time = Now() });
                    }
                }

                break;
            case MetaWorkKind.Step:
                node.Step(work.Message!);
                break;
            case MetaWorkKind.Propose:
                Propose(work);
                break;
            case MetaWorkKind.Read:
                StartRead(work);
                break;
            case MetaWorkKind.Query:
                Serve(work);
                break;
            case MetaWorkKind.Unreachable:
                node.ReportUnreachable(work.Peer);
                break;
            case MetaWorkKind.SnapshotReport:
                node.ReportSnapshot(work.Peer, work.Failed);
                break;
            case MetaWorkKind.ConfChange:
                ProposeConfChange(work);
                break;
        }
    }

    private void Propose(MetaWork work)
    {
        if (pendingProposals.Count >= options.PendingProposalsMax)
        {
            work.Proposal!.TrySetResult(new MetaResult<CommandOutcome>(MetaCallStatus.OutcomeUnknown, default, node.Leader));
            return;
        }

        ProposeResult result = node.Propose(work.Command!.ToByteArray());
        if (!result.IsAccepted)
        {
            work.Proposal!.TrySetResult(new MetaResult<CommandOutcome>(MetaCallStatus.NotLeader, default, result.LeaderHint != 0 ? result.LeaderHint : node.Leader));
            return;
        }

        pendingProposals[result.Index] = (result.Term, work.Proposal!);
    }

    private void ProposeConfChange(MetaWork work)
    {
        ProposeResult result = node.ProposeConfChange(work.Change);
        if (result.IsAccepted)
        {
            pendingProposals[result.Index] = (result.Term, work.Proposal!);
            return;
        }

        work.Proposal!.TrySetResult(result.Status is ProposeStatus.NotLeader or ProposeStatus.DroppedNoLeader
            ? new MetaResult<CommandOutcome>(MetaCallStatus.NotLeader, default, result.LeaderHint != 0 ? result.LeaderHint : node.Leader)
            : new MetaResult<CommandOutcome>(MetaCallStatus.Ok, CommandOutcome.Fail(Grpc.Core.StatusCode.FailedPrecondition, result.Status.ToString()), node.Leader));
    }

    private void ProposeInternal(MetaCommand command) => node.Propose(command.ToByteArray());

    private void StartRead(MetaWork work)
    {
        if (work.Cancellation.IsCancellationRequested)
        {
            return;
        }

        ulong context = ++readContext;
        switch (node.ReadIndex(context))
        {
            case ReadIndexStatus.Accepted:
                pendingReads[context] = work;
                break;
            case ReadIndexStatus.NotLeader:
            case ReadIndexStatus.Forwarded:
                // Reads are served by the leader only (the API edge answers NOT_LEADER with the leader's address and
                // the client goes there). A follower's read was forwarded to the leader (thesis §6.4) and, before,
                // deferred and forwarded again on every loop iteration without ever matching the answer: the call
                // hung until its deadline ("no meta leader reachable" for a CLI given only a follower's address).
                work.ReadCompletion!.TrySetResult(new MetaResult<object?>(MetaCallStatus.NotLeader, null, node.Leader));
                break;
            default:
                // A new leader has not committed an entry of its term yet (thesis §6.4 step 1), or too many
                // reads wait for a heartbeat round: try again on the next loop iteration.
                deferredReads.Add(work);
                break;
        }
    }

    private void RetryDeferredReads()
    {
        if (deferredReads.Count == 0)
        {
            return;
        }

        MetaWork[] retry = [.. deferredReads];
        deferredReads.Clear();
        foreach (MetaWork work in retry)
        {
            StartRead(work);
        }
    }

    private void Serve(MetaWork work)
    {
        if (work.Cancellation.IsCancellationRequested)
        {
            return;
        }

        // Readers may look at the leader and membership; make them current for this moment of the log.
        Volatile.Write(ref lastLeader, node.Leader);
        Volatile.Write(ref membership, node.ConfState);
        work.ReadCompletion!.TrySetResult(new MetaResult<object?>(MetaCallStatus.Ok, work.Reader!(State), node.Leader));
    }

    private void ObserveLeadership()
    {
        Volatile.Write(ref lastLeader, node.Leader);
        Volatile.Write(ref lastIndex, node.LastIndex);
        Volatile.Write(ref membership, node.ConfState);
        bool isLeader = node.Role == RaftRole.Leader;
        if (isLeader && !wasLeader)
        {
            logger.LogInformation("meta member {Id} is leader in term {Term}", options.Id, node.Term);
            Detector.BecameLeader();
            if (State.ClusterId.Length == 0)
            {
                ProposeInternal(new MetaCommand
                {
                    Time = Now(),
                    InitCluster = new InitClusterCommand { ClusterId = Guid.NewGuid().ToString(), PgCount = options.PgCount },
                });
            }
        }
        else if (!isLeader && wasLeader)
        {
            logger.LogInformation("meta member {Id} is no longer leader (leader {Leader})", options.Id, node.Leader);
            // Proposals in flight may still commit under the next leader, or not: the caller retries with its
            // request id. Reads waiting for a heartbeat quorum will never get one from this term.
            FailEverything(MetaCallStatus.OutcomeUnknown);
        }

        wasLeader = isLeader;
    }

    private void FailEverything(MetaCallStatus status)
    {
        foreach ((_, (ulong _, TaskCompletionSource<MetaResult<CommandOutcome>> completion)) in pendingProposals)
        {
            completion.TrySetResult(new MetaResult<CommandOutcome>(status, default, node.Leader));
        }

        pendingProposals.Clear();
        foreach (MetaWork work in pendingReads.Values.Concat(deferredReads).Concat(confirmedReads.Select(r => r.Work)))
        {
            work.ReadCompletion!.TrySetResult(new MetaResult<object?>(status == MetaCallStatus.OutcomeUnknown ? MetaCallStatus.NotLeader : status, null, node.Leader));
        }

        pendingReads.Clear();
        deferredReads.Clear();
        confirmedReads.Clear();
    }

    private void MaybeSnapshot()
    {
        if (appliedIndex - snapshotIndex < options.SnapshotThresholdEntries)
        {
            return;
        }

        byte[] data = State.ToSnapshot().ToByteArray();
        if (storage.CreateSnapshot(appliedIndex, node.ConfState, data, out _) != StorageStatus.Ok)
        {
            return;
        }

        Volatile.Write(ref snapshotIndex, appliedIndex);
        if (appliedIndex > options.CompactionLagEntries)
        {
            storage.Compact(appliedIndex - options.CompactionLagEntries);
        }

        logger.LogInformation("meta member {Id} snapshot at index {Index} ({Bytes} bytes)", options.Id, appliedIndex, data.Length);
    }

    private Timestamp Now() => Timestamp.FromDateTimeOffset(options.Time.GetUtcNow());

    // ---- IReadyHandler (called by RaftHost in its documented order) ----

    /// <inheritdoc/>
    void IReadyHandler.Sync() => storage.Sync();

    /// <inheritdoc/>
    void IReadyHandler.Send(int groupIndex, IReadOnlyList<Message> messages) => sender.Send([.. messages]);

    /// <inheritdoc/>
    void IReadyHandler.ApplySnapshot(int groupIndex, Snapshot snapshot)
    {
        State.Restore(MetaState.Parser.ParseFrom(snapshot.Data.Span));
        Volatile.Write(ref appliedIndex, snapshot.Metadata.Index);
        Volatile.Write(ref snapshotIndex, snapshot.Metadata.Index);
        foreach (ulong index in pendingProposals.Keys.Where(i => i <= snapshot.Metadata.Index).ToList())
        {
            pendingProposals[index].Completion.TrySetResult(new MetaResult<CommandOutcome>(MetaCallStatus.OutcomeUnknown, default, node.Leader));
            pendingProposals.Remove(index);
        }

        Feed.Reset(State.ToClusterMap());
        logger.LogInformation("meta member {Id} installed snapshot at index {Index}", options.Id, snapshot.Metadata.Index);
    }

    /// <inheritdoc/>
    void IReadyHandler.Apply(int groupIndex, IReadOnlyList<Entry> committedEntries, IReadOnlyList<ReadState> readStates)
    {
        foreach (Entry entry in committedEntries)
        {
            Invariant.Assert(entry.Index <= appliedIndex + 1, "committed entries apply in order, without gaps");
            if (entry.Index <= appliedIndex)
            {
                continue; // already in the restored snapshot
            }

            CommandOutcome outcome = default;
            bool applied = false;
            if (entry.Type == EntryType.Normal && !entry.Data.IsEmpty)
            {
                MetaCommand command = MetaCommand.Parser.ParseFrom(entry.Data.Span);
                outcome = State.Apply(command, out ClusterMapDelta? change);
                applied = true;
                if (change is not null)
                {
                    Feed.Publish(State.Version, change);
                }
            }
            else if (entry.Type == EntryType.ConfChange)
            {
                outcome = CommandOutcome.Ok("membership"); // takes effect in the core at Advance
                applied = true;
            }

            Volatile.Write(ref appliedIndex, entry.Index);
            if (pendingProposals.Remove(entry.Index, out (ulong Term, TaskCompletionSource<MetaResult<CommandOutcome>> Completion) pending))
            {
                // Raft §5.3/§8: an entry is ours only if the term matches; otherwise our proposal was overwritten.
                pending.Completion.TrySetResult(pending.Term == entry.Term && applied
                    ? new MetaResult<CommandOutcome>(MetaCallStatus.Ok, outcome, node.Leader)
                    : new MetaResult<CommandOutcome>(MetaCallStatus.OutcomeUnknown, default, node.Leader));
            }
        }

        foreach (ReadState readState in readStates)
        {
            if (pendingReads.Remove(readState.RequestContext, out MetaWork? work))
            {
                confirmedReads.Add((readState.Index, work));
            }
        }

        for (int i = confirmedReads.Count - 1; i >= 0; i--)
        {
            if (confirmedReads[i].Index <= appliedIndex)
            {
                Serve(confirmedReads[i].Work);
                confirmedReads.RemoveAt(i);
            }
        }
    }
}
