using System.Buffers.Binary;

namespace Sds.Raft.Tests.Simulation;

/// <summary>
/// One member: a <see cref="RawNode"/> over a <see cref="MemoryRaftLogStorage"/>, the durable image of that
/// storage as of the last sync (what a crash leaves), and a register state machine. It is its own
/// <see cref="IReadyHandler"/>, so the simulator drives it through <see cref="RaftHost"/> exactly as a real host.
/// </summary>
internal sealed class SimulatedNode : IReadyHandler
{
    private readonly Simulator simulator;
    private readonly Dictionary<ulong, ClientOperation> pendingWrites = [];
    private readonly Dictionary<ulong, ClientOperation> pendingReads = [];
    private readonly List<(ReadState State, ClientOperation Operation)> waitingReads = [];
    private readonly Queue<long> skippedTicks = new();

    public SimulatedNode(Simulator simulator, ulong id, ConfState bootstrap)
    {
        this.simulator = simulator;
        Id = id;
        Storage = new MemoryRaftLogStorage(bootstrap);
        Durable = Storage.Clone();
    }

    public ulong Id { get; }

    public RawNode? Raft { get; private set; }

    public bool IsUp => Raft is not null;

    public MemoryRaftLogStorage Storage { get; private set; }

    public MemoryRaftLogStorage Durable { get; private set; }

    public Dictionary<int, KvValue> Kv { get; } = [];

    public ulong AppliedIndex { get; private set; }

    /// <summary>Highest index whose commit the invariant checker recorded for this incarnation.</summary>
    public ulong CheckedCommit { get; set; }

    /// <summary>Log shape when the checker last scanned it (log matching is re-checked when it changes).</summary>
    public (ulong First, ulong Last, ulong LastTerm) ScannedShape { get; set; }

    public int Incarnation { get; private set; }

    public void Start(RaftConfig config)
    {
        Invariant.Assert(Raft is null, "start of a running node");
        Incarnation++;
        Kv.Clear();
        AppliedIndex = Storage.FirstIndex - 1;
        if (Storage.Snapshot(out Snapshot? snapshot) == StorageStatus.Ok)
        {
            LoadSnapshot(snapshot!);
        }

        Raft = new RawNode(config);
        CheckedCommit = Raft.Raft.Log.Committed;
        ScannedShape = default;
    }

    /// <summary>Loses everything not synced: the core, the state machine, pending client calls.</summary>
    /// <summary>Lease reads answered by earlier incarnations (the counter lives in the core).</summary>
    public long LeaseReadsBeforeCrashes { get; private set; }

    public long LeaseReads => LeaseReadsBeforeCrashes + (Raft?.Raft.LeaseReads ?? 0);

    /// <summary>
    /// Set when the member crashed inside its sync (<see cref="SimulationOptions.CrashInSyncPerMille"/>): the rest
    /// of the Ready cycle must have no effect outside, and the simulator crashes the member right after it.
    /// </summary>
    public bool CrashedInSync { get; private set; }

    public void Crash()
    {
        CrashedInSync = false;
        LeaseReadsBeforeCrashes += Raft!.Raft.LeaseReads;
        Raft = null;
        Storage = Durable.Clone();
        Kv.Clear();
        pendingWrites.Clear();
        pendingReads.Clear();
        waitingReads.Clear();
    }

    /// <summary>
    /// Clock drift: skip this tick (with some probability) unless that would lose more than
    /// <paramref name="driftTicksMax"/> ticks within the last <paramref name="windowTicks"/> global ticks.
    /// </summary>
    public bool TrySkipTick(long now, int windowTicks, int driftTicksMax, SplitMix64Random random)
    {
        while (skippedTicks.Count > 0 && skippedTicks.Peek() <= now - windowTicks)
        {
            skippedTicks.Dequeue();
        }

        if (driftTicksMax == 0 || skippedTicks.Count >= driftTicksMax || !random.Chance(0.05))
        {
            return false;
        }

        skippedTicks.Enqueue(now);
        return true;
    }

    public void TrackWrite(ClientOperation operation) => pendingWrites[operation.Index] = operation;

    public void TrackRead(ulong context, ClientOperation operation) => pendingReads[context] = operation;

    public bool HandleReady() => RaftHost.HandleReady(Raft!, Storage, this,
        simulator.Options.LeaderAppendsBeforeSync ? ReadySendOrder.LeaderAppendsBeforeSync : ReadySendOrder.AfterSync);

    public void Sync()
    {
        if (simulator.CrashInSync())
        {
            // The process dies before the fsync completes: nothing of this Ready is durable (Durable keeps the
            // last synced image) and nothing the host would do after the sync happens.
            CrashedInSync = true;
            return;
        }

        if (!simulator.Options.BrokenNoSync)
        {
            Durable = Storage.Clone();
        }
    }

    public void Send(int groupIndex, IReadOnlyList<Message> messages)
    {
        if (CrashedInSync)
        {
            return;
        }

        foreach (Message message in messages)
        {
            simulator.SendMessage(message);
        }
    }

    public void ApplySnapshot(int groupIndex, Snapshot snapshot)
    {
        if (CrashedInSync)
        {
            return;
        }

        LoadSnapshot(snapshot);

        // Our own proposals covered by the snapshot: outcome unknown to this node's clients.
        pendingWrites.Clear();
    }

    public void Apply(int groupIndex, IReadOnlyList<Entry> committedEntries, IReadOnlyList<ReadState> readStates)
    {
        if (CrashedInSync)
        {
            return;
        }

        foreach (Entry entry in committedEntries)
        {
            simulator.Checker.OnApply(this, entry);
            Invariant.Assert(entry.Index == AppliedIndex + 1, "entries applied out of order");
            AppliedIndex = entry.Index;
            if (KvCommand.TryDecode(entry, out KvCommand command))
            {
                Kv[command.Key] = new KvValue(command.WriteId, entry.Index);
            }

            if (pendingWrites.Remove(entry.Index, out ClientOperation? write))
            {
                if (entry.Term == write.Term && command.WriteId == write.WriteId)
                {
                    simulator.CompleteWrite(write);
                }
            }
        }

        foreach (ReadState state in readStates)
        {
            if (pendingReads.Remove(state.RequestContext, out ClientOperation? read))
            {
                waitingReads.Add((state, read));
            }
        }

        CompleteReads();
    }

    /// <summary>After Advance: snapshot and compact when the log grew (Raft §7), on both images.</summary>
    public void MaybeCompact()
    {
        if (AppliedIndex < Storage.FirstIndex + (ulong)simulator.CompactThresholdEntries)
        {
            return;
        }

        ulong index = AppliedIndex;
        byte[] data = EncodeKv();
        ConfState confState = Raft!.ConfState;
        ulong compactTo = index - 4;
        foreach (MemoryRaftLogStorage storage in new[] { Storage, Durable })
        {
            if (storage.LastIndex >= index && storage.FirstIndex <= index + 1
                && storage.CreateSnapshot(index, confState, data, out _) == StorageStatus.Ok)
            {
                storage.Compact(compactTo);
            }
        }
    }

    private void CompleteReads()
    {
        for (int i = 0; i < waitingReads.Count; i++)
        {
            (ReadState state, ClientOperation read) = waitingReads[i];
            if (state.Index <= AppliedIndex)
            {
                KvValue value = Kv.TryGetValue(read.Key, out KvValue v) ? v : default;
                read.Index = value.Index;
                read.ObservedWriteId = value.WriteId;
                simulator.CompleteRead(read);
                waitingReads[i] = waitingReads[^1];
                waitingReads.RemoveAt(waitingReads.Count - 1);
                i--;
            }
        }
    }

    private void LoadSnapshot(Snapshot snapshot)
    {
        Kv.Clear();
        ReadOnlySpan<byte> span = snapshot.Data.Span;
        int count = BinaryPrimitives.ReadInt32LittleEndian(span);
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> record = span.Slice(4 + (i * 20), 20);
            Kv[BinaryPrimitives.ReadInt32LittleEndian(record)] = new KvValue(
                BinaryPrimitives.ReadUInt64LittleEndian(record[4..]), BinaryPrimitives.ReadUInt64LittleEndian(record[12..]));
        }

        AppliedIndex = snapshot.Metadata.Index;
        CompleteReads();
    }

    private byte[] EncodeKv()
    {
        byte[] data = new byte[4 + (Kv.Count * 20)];
        BinaryPrimitives.WriteInt32LittleEndian(data, Kv.Count);
        int offset = 4;
        foreach (KeyValuePair<int, KvValue> pair in Kv.OrderBy(static p => p.Key))
        {
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(offset), pair.Key);
            BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(offset + 4), pair.Value.WriteId);
            BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(offset + 12), pair.Value.Index);
            offset += 20;
        }

        return data;
    }
}
