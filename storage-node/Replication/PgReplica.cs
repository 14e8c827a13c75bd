using System.Diagnostics;
using IoStatusCode = Sds.Proto.V1.IoStatusCode;
using Sds.Raft;
using Sds.Storage.Chunks;
using Sds.Storage.RaftLog;

namespace Sds.Storage.Replication;

/// <summary>
/// One replica of a placement group: its Raft member, its log in the node's shared Raft-log database, the
/// client operations waiting on it, and the apply step onto the node's chunk store. Driven only by the
/// node's event loop thread (<see cref="StorageNodeHost"/>), so nothing here locks.
/// </summary>
internal sealed class PgReplica
{
    /// <summary>Reads batched behind one read-index request are bounded so one PG can't hold the loop.</summary>
    public const int PendingReadsMax = 4096;

    private readonly Dictionary<ulong, PgOperation> proposals = [];
    private readonly List<PgOperation> readsToConfirm = [];
    private readonly Dictionary<ulong, List<PgOperation>> readsByContext = [];
    private readonly List<(ulong Index, PgOperation Operation)> readsAwaitingApply = [];
    private readonly IChunkStore store;
    private readonly Action<uint, ulong, PgResult>? applyFailed;
    private readonly Dictionary<Guid, (ulong Index, PgResult Result)> appliedRequests = [];
    private readonly Queue<(ulong Index, Guid Id)> requestOrder = new();
    // The ids changed (recorded or evicted) since they were last encoded for persistence.
    private bool requestsChanged;
    private ulong nextReadContext;

    /// <summary>
    /// Log entries a COMPARE AND WRITE request id is remembered for. Eviction is by entry index, so every replica
    /// applying the same log holds the same ids; far longer than a client retries (its request timeout).
    /// </summary>
    public const ulong RequestWindowEntries = 4096;

    private const int RequestRecordBytes = 8 + 16 + 1 + 8;

    public PgReplica(uint pgId, ulong epoch, RawNode node, RaftLogStorage log, IChunkStore store, Action<uint, ulong, PgResult>? applyFailed = null)
    {
        this.applyFailed = applyFailed;
        PgId = pgId;
        Epoch = epoch;
        Node = node;
        Log = log;
        this.store = store;
        Applied = node.Applied;
        LoadAppliedRequests(log.LoadAppliedRequests());
    }

    public uint PgId { get; }

    /// <summary>COMPARE AND WRITE request ids remembered (answered exactly once on a retry).</summary>
    public int RememberedRequests => appliedRequests.Count;

    /// <summary>Transport group id: 0 is meta's, so PG n is group n + 1 (raft.proto GroupMessage).</summary>
    public ulong GroupId => PgId + 1UL;

    /// <summary>Membership epoch from placement.</summary>
    public ulong Epoch { get; set; }

    public RawNode Node { get; }

    public RaftLogStorage Log { get; }

    /// <summary>Last entry applied to the chunk store. Read by request threads (snapshot metadata) without a lock.</summary>
    public ulong Applied { get; private set; }

    /// <summary>Chunk data for a snapshot is being fetched; the snapshot message is held until it is stored.</summary>
    public bool FetchingSnapshot { get; set; }

    /// <summary>Appended entries since the last compaction, for metrics.</summary>
    public bool HasWaiters => proposals.Count > 0 || readsToConfirm.Count > 0 || readsByContext.Count > 0 || readsAwaitingApply.Count > 0;

    /// <summary>Proposes <paramref name="operation"/>'s command, or completes it with the reason it can't be.</summary>
    public void Propose(PgOperation operation)
    {
        ProposeResult result = Node.Propose(operation.Payload);
        if (!result.IsAccepted)
        {
            operation.Complete(Refusal(result.Status, result.LeaderHint));
            return;
        }

        operation.Index = result.Index;
        operation.Term = result.Term;
        proposals[result.Index] = operation;
    }

    /// <summary>Queues a read behind the next read-index request (one per PG per cycle, Raft thesis §6.4).</summary>
    public void QueueRead(PgOperation operation)
    {
        if (Node.Role != RaftRole.Leader)
        {
            operation.Complete(new PgResult(IoStatusCode.NotLeader, Node.Leader));
            return;
        }

        if (readsToConfirm.Count >= PendingReadsMax)
        {
            operation.Complete(new PgResult(IoStatusCode.Busy, Message: "too many reads waiting"));
            return;
        }

        readsToConfirm.Add(operation);
    }

    /// <summary>Asks Raft to confirm the queued reads: under the lease this answers in the next Ready without a round trip.</summary>
    public void RequestReadIndex()
    {
        if (readsToConfirm.Count == 0)
        {
            return;
        }

        ulong context = ++nextReadContext;
        ReadIndexStatus status = Node.ReadIndex(context);
        switch (status)
        {
            case ReadIndexStatus.Accepted:
                readsByContext[context] = [.. readsToConfirm];
                readsToConfirm.Clear();
                break;
            case ReadIndexStatus.NotReady:
                // The new leader has not committed its no-op yet (thesis §6.4 step 1); retry next cycle.
                break;
            default:
                FailAll(readsToConfirm, new PgResult(status == ReadIndexStatus.NotLeader ? IoStatusCode.NotLeader : IoStatusCode.Busy, Node.Leader));
                break;
        }
    }

    /// <summary>Applies committed entries to the chunk store in order, answers their proposers, then serves confirmed reads.</summary>
    public void Apply(IReadOnlyList<Entry> committed, IReadOnlyList<ReadState> readStates)
    {
        foreach (Entry entry in committed)
        {
            while (requestOrder.TryPeek(out (ulong Index, Guid Id) oldest) && oldest.Index + RequestWindowEntries <= entry.Index)
            {
                requestOrder.Dequeue();
                appliedRequests.Remove(oldest.Id);
                requestsChanged = true;
            }

            PgResult result = PgResult.Ok;
            // Membership entries are Raft's own (applied by the core); the host destroys a replica once placement
            // and the configuration both no longer name it (StorageNodeHost.Reconcile).
            if (entry.Type != EntryType.ConfChange && !entry.Data.IsEmpty)
            {
                result = Execute(entry.Data.Span, entry.Index);
                if (result.Code is not (IoStatusCode.Ok or IoStatusCode.Miscompare or IoStatusCode.OutOfRange))
                {
                    // Every replica applies the same entries, so MISCOMPARE and OUT_OF_RANGE are the same everywhere;
                    // any other failure (no space, I/O error) leaves this replica's chunks behind the others' — said
                    // out loud, so a divergence is never silent.
                    applyFailed?.Invoke(PgId, entry.Index, result);
                }
            }

            Applied = entry.Index;
            if (proposals.Remove(entry.Index, out PgOperation? waiting))
            {
                // Raft: a different term at the proposal's index means the proposal was lost in a leader change.
                waiting.Complete(waiting.Term == entry.Term ? result : new PgResult(IoStatusCode.NotLeader, Node.Leader, Message: "proposal lost in a leader change"));
            }
        }

        foreach (ReadState state in readStates)
        {
            if (readsByContext.Remove(state.RequestContext, out List<PgOperation>? reads))
            {
                foreach (PgOperation read in reads)
                {
                    readsAwaitingApply.Add((state.Index, read));
                }
            }
        }

        ServeAppliedReads();
    }

    /// <summary>
    /// A snapshot was installed: the chunk data was stored before it was stepped. <paramref name="requests"/> is the
    /// snapshot's data, the COMPARE AND WRITE ids applied up to its index (<see cref="SnapshotRequests"/>): they
    /// replace this replica's, as the snapshot replaces its state, so a retry that reaches this replica after it
    /// becomes leader is still answered with its first outcome.
    /// </summary>
    public void SnapshotApplied(ulong index, ReadOnlySpan<byte> requests)
    {
        Applied = Math.Max(Applied, index);
        appliedRequests.Clear();
        requestOrder.Clear();
        LoadAppliedRequests(requests);
        // Persisted with the next flush (with the durable applied index, as ids recorded by Apply are).
        requestsChanged = true;
        ServeAppliedReads();
    }

    /// <summary>Fails every waiter when this replica is no longer the leader (their entries may still commit; clients retry).</summary>
    public void FailWaitersIfNotLeader()
    {
        if (Node.Role == RaftRole.Leader || !HasWaiters)
        {
            return;
        }

        var notLeader = new PgResult(IoStatusCode.NotLeader, Node.Leader);
        foreach (PgOperation operation in proposals.Values)
        {
            operation.Complete(notLeader);
        }

        proposals.Clear();
        FailAll(readsToConfirm, notLeader);
        foreach (List<PgOperation> reads in readsByContext.Values)
        {
            FailAll(reads, notLeader);
        }

        readsByContext.Clear();
        foreach ((ulong _, PgOperation operation) in readsAwaitingApply)
        {
            operation.Complete(notLeader);
        }

        readsAwaitingApply.Clear();
    }

    /// <summary>Fails everything (shutdown or replica removal).</summary>
    public void FailAllWaiters(in PgResult result)
    {
        foreach (PgOperation operation in proposals.Values)
        {
            operation.Complete(result);
        }

        proposals.Clear();
        FailAll(readsToConfirm, result);
        foreach (List<PgOperation> reads in readsByContext.Values)
        {
            FailAll(reads, result);
        }

        readsByContext.Clear();
        foreach ((ulong _, PgOperation operation) in readsAwaitingApply)
        {
            operation.Complete(result);
        }

        readsAwaitingApply.Clear();
    }

    private void ServeAppliedReads()
    {
        for (int i = readsAwaitingApply.Count - 1; i >= 0; i--)
        {
            if (readsAwaitingApply[i].Index <= Applied)
            {
                readsAwaitingApply[i].Operation.Complete(PgResult.Ok);
                readsAwaitingApply.RemoveAt(i);
            }
        }
    }

    /// <summary>
    /// The applied request ids up to <paramref name="index"/> (the applied index a flush makes durable: a later id
    /// must not be known before its entry is replayed after a restart, or the replay would skip its write); null when
    /// nothing changed since the last encoding, so a PG without COMPARE AND WRITE stages nothing at its flushes.
    /// </summary>
    public byte[]? EncodeAppliedRequests(ulong index)
    {
        if (!requestsChanged)
        {
            return null;
        }

        byte[] encoded = EncodeRequestsUpTo(index, out int count);
        // Ids past the flushed index still have to be persisted by a later flush.
        requestsChanged = count < requestOrder.Count;
        return encoded;
    }

    /// <summary>
    /// Every applied request id up to <paramref name="index"/>, for a snapshot at that index (its data: a PG
    /// snapshot's chunks are fetched separately, the ids travel in the Raft snapshot message).
    /// </summary>
    public byte[] SnapshotRequests(ulong index) => EncodeRequestsUpTo(index, out _);

    private byte[] EncodeRequestsUpTo(ulong index, out int count)
    {
        count = 0;
        foreach ((ulong at, Guid _) in requestOrder)
        {
            count += at <= index ? 1 : 0;
        }

        byte[] encoded = new byte[count * RequestRecordBytes];
        int offset = 0;
        foreach ((ulong at, Guid id) in requestOrder)
        {
            if (at > index)
            {
                continue;
            }

            PgResult result = appliedRequests[id].Result;
            Span<byte> record = encoded.AsSpan(offset, RequestRecordBytes);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(record, at);
            id.TryWriteBytes(record[8..24]);
            record[24] = (byte)result.Code;
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(record[25..], result.MiscompareOffsetBytes);
            offset += RequestRecordBytes;
        }

        return encoded;
    }

    private void LoadAppliedRequests(ReadOnlySpan<byte> encoded)
    {
        for (int offset = 0; offset + RequestRecordBytes <= encoded.Length; offset += RequestRecordBytes)
        {
            ReadOnlySpan<byte> record = encoded.Slice(offset, RequestRecordBytes);
            ulong index = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(record);
            var id = new Guid(record[8..24]);
            var result = new PgResult((IoStatusCode)record[24], MiscompareOffsetBytes: System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(record[25..]), ExactlyOnce: true);
            if (index <= Applied && appliedRequests.TryAdd(id, (index, result)))
            {
                requestOrder.Enqueue((index, id));
            }
        }
    }

    private PgResult Execute(ReadOnlySpan<byte> payload, ulong index)
    {
        if (!PgCommand.TryDecode(payload, out PgCommand command))
        {
            // Entries are written only by leaders of this version; an undecodable one is a bug.
            Invariant.Fail("undecodable PG command in the Raft log");
        }

        // Every replica's apply joins the proposer's trace (the context rode in the entry).
        using Activity? activity = command.TraceContext != default && StorageTelemetry.Source.HasListeners()
            ? StorageTelemetry.Source.StartActivity("PG apply", ActivityKind.Internal, command.TraceContext)
            : null;
        activity?.SetTag("sds.pg", PgId);
        ChunkKey key = command.Chunk;
        switch (command.Kind)
        {
            case PgCommandKind.Write:
                return FromChunk(store.Write(key, command.OffsetBytes, command.Body));
            case PgCommandKind.WriteSame:
                if ((command.Flags & 1) != 0 && !command.Body.ContainsAnyExcept((byte)0))
                {
                    return FromChunk(store.Unmap(key, command.OffsetBytes, command.LengthBytes));
                }

                return FromChunk(store.WriteSame(key, command.OffsetBytes, command.LengthBytes, command.Body));
            case PgCommandKind.Unmap:
                ReadOnlySpan<byte> ranges = command.Body;
                for (int at = 0; at + PgCommand.UnmapRangeBytes <= ranges.Length; at += PgCommand.UnmapRangeBytes)
                {
                    long offset = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(ranges[at..]);
                    int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(ranges[(at + 8)..]);
                    ChunkStatus status = store.Unmap(key, offset, length);
                    if (status != ChunkStatus.Ok)
                    {
                        return FromChunk(status);
                    }
                }

                return PgResult.Ok;
            case PgCommandKind.CompareAndWrite:
                int half = command.LengthBytes;
                bool hasId = (command.Flags & PgCommand.RequestIdFlag) != 0;
                Invariant.Assert(command.Body.Length == 2 * half + (hasId ? PgCommand.RequestIdBytes : 0), "compare and write carries two equal halves and maybe a request id");
                Guid requestId = hasId ? new Guid(command.Body.Slice(2 * half, PgCommand.RequestIdBytes)) : default;
                if (hasId && appliedRequests.TryGetValue(requestId, out (ulong Index, PgResult Result) earlier))
                {
                    // A retry of a command this PG applied already (its first attempt's answer was lost): comparing
                    // again would find its own data (a false MISCOMPARE) or, if another initiator restored the old
                    // data meanwhile, swap a second time. Every replica skips it alike (same log, same window).
                    return earlier.Result;
                }

                CompareAndWriteResult caw = store.CompareAndWrite(key, command.OffsetBytes, command.Body[..half], command.Body.Slice(half, half));
                PgResult outcome = caw.Status == ChunkStatus.Miscompare
                    ? new PgResult(IoStatusCode.Miscompare, MiscompareOffsetBytes: caw.MiscompareOffsetBytes, ExactlyOnce: hasId)
                    : FromChunk(caw.Status) with { ExactlyOnce = hasId && caw.Status == ChunkStatus.Ok };
                if (hasId && outcome.Code is IoStatusCode.Ok or IoStatusCode.Miscompare)
                {
                    appliedRequests[requestId] = (index, outcome);
                    requestOrder.Enqueue((index, requestId));
                    requestsChanged = true;
                }

                return outcome;
            case PgCommandKind.Flush:
                return PgResult.Ok;
            default:
                throw new System.Diagnostics.UnreachableException("decoded kinds are checked");
        }
    }

    /// <summary>The I/O status for a chunk-store outcome.</summary>
    public static PgResult FromChunk(ChunkStatus status) => status switch
    {
        ChunkStatus.Ok => PgResult.Ok,
        ChunkStatus.InvalidRange or ChunkStatus.InvalidBuffer => new PgResult(IoStatusCode.OutOfRange, Message: status.ToString()),
        ChunkStatus.NoSpace => new PgResult(IoStatusCode.NoSpace, Message: "no space left on the storage node"),
        ChunkStatus.Corrupt => new PgResult(IoStatusCode.MediumError, Message: "checksum mismatch"),
        ChunkStatus.Miscompare => new PgResult(IoStatusCode.Miscompare),
        _ => new PgResult(IoStatusCode.MediumError, Message: status.ToString()),
    };

    private static PgResult Refusal(ProposeStatus status, ulong leader) => status switch
    {
        ProposeStatus.NotLeader or ProposeStatus.DroppedNoLeader => new PgResult(IoStatusCode.NotLeader, leader),
        _ => new PgResult(IoStatusCode.Busy, leader, Message: status.ToString()),
    };

    private static void FailAll(List<PgOperation> operations, in PgResult result)
    {
        foreach (PgOperation operation in operations)
        {
            operation.Complete(result);
        }

        operations.Clear();
    }
}
