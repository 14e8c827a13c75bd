namespace Sds.Raft.Tests.Simulation;

/// <summary>
/// A deterministic simulation of one Raft group (TigerBeetle's VOPR shape): one seed builds the members,
/// the network and the schedule. Each step is one random action — deliver (maybe drop or duplicate) a
/// message, run a member's Ready cycle, tick every clock, issue a client read or write, crash or restart a
/// member (losing what it had not synced), partition the network (possibly one way), heal it, or transfer
/// leadership — and the <see cref="InvariantChecker"/> runs after every one. At the end the network heals,
/// every member restarts, the group converges, and the client history is checked for linearizability.
/// </summary>
internal sealed class Simulator
{
    private const long ConvergeStepsMax = 60_000;

    private readonly SplitMix64Random random;
    private readonly List<ClientOperation> operations = [];
    private readonly SimulatedNode[] nodes;
    private readonly bool preVote;
    private readonly ReadOnlyOption readOnly;
    private readonly int maxClockDriftTicks;
    private readonly bool checkQuorum;
    private readonly int electionTicks;
    private readonly ulong maxUncommittedBytes;
    private readonly ulong maxCommittedSizePerReadyBytes;
    private readonly ulong maxSizePerMessageBytes;
    private readonly int maxInflightMessages;
    private readonly int heartbeatTicks;
    private long tick;
    private long step;
    private ulong nextWriteId = 1;
    private ulong nextReadContext = 1;
    private int elections;
    private int acknowledgedWrites;
    private int completedReads;
    private int crashes;
    private int membershipChanges;
    private bool converging;
    private ulong lastLeaderTerm;

    public Simulator(SimulationOptions options)
    {
        Options = options;
        random = new SplitMix64Random(options.Seed);
        // The initial voters plus one spare member that membership changes may add (as a learner first).
        Network = new SimulatedNetwork(options.MemberCount + 1);
        ulong[] voters = new ulong[options.MemberCount];
        for (int i = 0; i < voters.Length; i++)
        {
            voters[i] = (ulong)i + 1;
        }

        ConfState bootstrap = new(voters, []);
        nodes = new SimulatedNode[options.MemberCount + 1];
        for (int i = 0; i < nodes.Length; i++)
        {
            nodes[i] = new SimulatedNode(this, (ulong)i + 1, bootstrap);
        }

        // Per-schedule configuration, also drawn from the seed.
        preVote = random.Chance(0.7);
        readOnly = random.Chance(0.5) || options.BrokenLeaseExtensionTicks > 0 ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe;
        maxClockDriftTicks = random.Next(3);
        checkQuorum = readOnly == ReadOnlyOption.LeaseBased || random.Chance(0.7);
        maxSizePerMessageBytes = (ulong)(40 + random.Next(200));
        if (options.MaxSizePerMessageBytes != 0)
        {
            maxSizePerMessageBytes = options.MaxSizePerMessageBytes;
        }

        maxInflightMessages = 1 + random.Next(8);
        electionTicks = 6 + random.Next(10);
        heartbeatTicks = 1 + random.Next(3);
        maxUncommittedBytes = random.Chance(0.3) ? (ulong)(200 + random.Next(2000)) : 64 * 1024 * 1024;
        maxCommittedSizePerReadyBytes = random.Chance(0.3) ? (ulong)(30 + random.Next(300)) : 4 * 1024 * 1024;
        CompactThresholdEntries = Options.CompactThresholdEntries > 0 ? Options.CompactThresholdEntries : 6 + random.Next(40);
        foreach (SimulatedNode node in nodes)
        {
            node.Start(ConfigFor(node));
        }
    }

    public SimulationOptions Options { get; }

    /// <summary>Applied entries beyond the snapshot before a member snapshots and compacts.</summary>
    public int CompactThresholdEntries { get; }

    public SimulatedNetwork Network { get; }

    public InvariantChecker Checker { get; } = new();

    public IReadOnlyList<SimulatedNode> Nodes => nodes;

    public static SimulationResult RunSeed(SimulationOptions options)
    {
        Simulator simulator = new(options);
        return simulator.Run();
    }

    public SimulationResult Run()
    {
        try
        {
            for (step = 0; step < Options.Steps; step++)
            {
                RandomAction();
                Checker.Check(nodes);
            }

            Converge();
            Checker.CheckAcknowledgedWritesSurvived(nodes);
            LinearizabilityChecker.Check(operations, Checker.Committed, Options.Keys);
            return Result(null);
        }
        catch (SimulationViolation violation)
        {
            return Result(violation);
        }
    }

    private SimulationResult Result(SimulationViolation? violation) =>
        new(Options.Seed, violation, step, elections, acknowledgedWrites, completedReads, crashes, Checker.CommittedCount, membershipChanges, nodes.Sum(static n => n.LeaseReads));

    public void SendMessage(Message message)
    {
        long delay = random.Next(3);
        Network.Send(message, tick + delay);
    }

    public void CompleteWrite(ClientOperation write)
    {
        write.CompleteStep = step;
        acknowledgedWrites++;
        Checker.OnAcknowledged(write.Index, write.Term, InvariantChecker.HashOf(new Entry(write.Term, write.Index, EntryType.Normal, new KvCommand(write.WriteId, write.Key).Encode())));
    }

    public void CompleteRead(ClientOperation read)
    {
        read.CompleteStep = step;
        completedReads++;
    }

    private RaftConfig ConfigFor(SimulatedNode node) => new()
    {
        Id = node.Id,
        Storage = node.Storage,
        ElectionTicks = electionTicks,
        MaxUncommittedBytes = maxUncommittedBytes,
        MaxCommittedSizePerReadyBytes = maxCommittedSizePerReadyBytes,
        HeartbeatTicks = heartbeatTicks,
        PreVote = preVote,
        CheckQuorum = checkQuorum,
        ReadOnly = readOnly,
        MaxClockDriftTicks = maxClockDriftTicks,
        MaxSizePerMessageBytes = maxSizePerMessageBytes,
        MaxInflightMessages = maxInflightMessages,
        LearnerCatchUpMaxLagEntries = 8,
        Random = new SplitMix64Random(random.NextUInt64()),
        TestOnlyUnsafeCommitPreviousTerm = Options.BrokenCommitPreviousTerm,
        TestOnlyUnsafeSkipVoteLogCheck = Options.BrokenSkipVoteLogCheck,
        TestOnlyUnsafeLeaseExtensionTicks = Options.BrokenLeaseExtensionTicks,
        TestOnlyUnsafeReadBeforeTermCommit = Options.BrokenReadBeforeTermCommit,
    };

    private void RandomAction()
    {
        // Weights per ten thousand steps. Ticks are rarer than message events (a tick is a "long" time),
        // and partitions last tens of ticks on average, long enough to elect a second leader.
        int roll = random.Next(10_000);
        if ((roll -= 5500) < 0)
        {
            DeliverOne(allowFaults: true);
        }
        else if ((roll -= 2400) < 0)
        {
            ReadyOne();
        }
        else if ((roll -= 600) < 0)
        {
            TickAll();
        }
        else if ((roll -= 1000) < 0)
        {
            ClientCall();
        }
        else if ((roll -= Options.CrashPerMille * 10) < 0)
        {
            CrashOne();
        }
        else if ((roll -= 150) < 0)
        {
            RestartOne();
        }
        else if ((roll -= 40) < 0)
        {
            Partition();
        }
        else if ((roll -= 20) < 0)
        {
            Network.HealAll();
        }
        else if ((roll -= 50) < 0)
        {
            TransferLeadership();
        }
        else if ((roll -= 100) < 0)
        {
            ChangeMembership();
        }
        else
        {
            ClientCall();
        }
    }

    private void DeliverOne(bool allowFaults)
    {
        if (!Network.TryTakeRandom(random, tick, out Message message))
        {
            TickAll();
            return;
        }

        Deliver(message, allowFaults);
    }

    private void ReadyAll()
    {
        foreach (SimulatedNode node in nodes)
        {
            if (node.IsUp && node.Raft!.HasReady)
            {
                RunReady(node);
            }
        }
    }

    /// <summary>One Ready cycle of <paramref name="node"/>; a crash inside its sync takes the member down at once.</summary>
    private void RunReady(SimulatedNode node)
    {
        node.HandleReady();
        if (node.CrashedInSync)
        {
            node.Crash();
            crashes++;
            return;
        }

        node.MaybeCompact();
    }

    /// <summary>Whether the member syncing now crashes inside the sync (<see cref="SimulationOptions.CrashInSyncPerMille"/>).</summary>
    public bool CrashInSync() => !converging && Options.CrashInSyncPerMille > 0 && random.Next(1000) < Options.CrashInSyncPerMille;

    private void Deliver(Message message, bool allowFaults)
    {

        SimulatedNode from = nodes[message.From - 1];
        SimulatedNode to = nodes[message.To - 1];
        bool lost = !to.IsUp || Network.IsBlocked(message.From, message.To) || (allowFaults && random.Chance(Options.DropProbability));
        if (message.Type == MessageType.Snapshot && from.IsUp)
        {
            // The transport reports a snapshot's fate to the sender (etcd's ReportSnapshot).
            from.Raft!.ReportSnapshot(message.To, failed: lost);
        }

        if (lost)
        {
            if (from.IsUp && message.Type == MessageType.Append && random.Chance(0.3))
            {
                from.Raft!.ReportUnreachable(message.To);
            }

            return;
        }

        if (allowFaults && random.Chance(Options.DuplicateProbability))
        {
            Network.Send(message, tick + random.Next(4));
        }

        // The core only ever sends well-formed messages; the validation in RawNode.Step must accept them all.
        StepStatus status = to.Raft!.Step(message);
        Invariant.Assert(status == StepStatus.Accepted, $"the core sent a message its peer refused: {message}");
    }

    private void ReadyOne()
    {
        int start = random.Next(nodes.Length);
        for (int i = 0; i < nodes.Length; i++)
        {
            SimulatedNode node = nodes[(start + i) % nodes.Length];
            if (node.IsUp && node.Raft!.HasReady)
            {
                RunReady(node);
                return;
            }
        }
    }

    private void TickAll()
    {
        // One global clock; each member's tick clock may lose up to MaxClockDriftTicks ticks in any window of
        // ElectionTicks global ticks (it runs slow by a bounded amount) — exactly the drift the lease tolerates.
        tick++;
        foreach (SimulatedNode node in nodes)
        {
            if (node.IsUp)
            {
                if (!converging && node.TrySkipTick(tick, electionTicks, maxClockDriftTicks, random))
                {
                    continue;
                }

                node.Raft!.Tick();
                if (node.Raft.Role == RaftRole.Leader && node.Raft.Term > lastLeaderTerm)
                {
                    lastLeaderTerm = node.Raft.Term;
                    elections++;
                }
            }
        }
    }

    private SimulatedNode? PickClientTarget()
    {
        // Clients mostly find a leader (as a routing cache would) — the newest one, or, with a stale cache,
        // any member that still believes it leads — and sometimes ask a random member.
        int pick = random.Next(10);
        if (pick < 8)
        {
            SimulatedNode? chosen = null;
            int leaders = 0;
            foreach (SimulatedNode node in nodes)
            {
                if (!node.IsUp || node.Raft!.Role != RaftRole.Leader)
                {
                    continue;
                }

                leaders++;
                bool take = pick < 5
                    ? chosen is null || node.Raft.Term > chosen.Raft!.Term
                    : random.Next(leaders) == 0;
                if (take)
                {
                    chosen = node;
                }
            }

            if (chosen is not null)
            {
                return chosen;
            }
        }

        SimulatedNode candidate = nodes[random.Next(nodes.Length)];
        return candidate.IsUp ? candidate : null;
    }

    private void ClientCall()
    {
        SimulatedNode? target = PickClientTarget();
        if (target is null)
        {
            return;
        }

        int key = random.Next(Options.Keys);
        if (random.Chance(0.55))
        {
            ulong writeId = nextWriteId++;
            ProposeResult result = target.Raft!.Propose(new KvCommand(writeId, key).Encode());
            if (!result.IsAccepted)
            {
                return;
            }

            ClientOperation write = new()
            {
                Id = operations.Count, IsWrite = true, Key = key, WriteId = writeId, InvokeStep = step,
                Index = result.Index, Term = result.Term,
            };
            operations.Add(write);
            target.TrackWrite(write);
        }
        else
        {
            ulong context = nextReadContext++;
            ReadIndexStatus status = target.Raft!.ReadIndex(context);
            if (status is not (ReadIndexStatus.Accepted or ReadIndexStatus.Forwarded))
            {
                return;
            }

            ClientOperation read = new() { Id = operations.Count, IsWrite = false, Key = key, InvokeStep = step };
            operations.Add(read);
            target.TrackRead(context, read);
        }
    }

    private void CrashOne()
    {
        SimulatedNode node = nodes[random.Next(nodes.Length)];
        if (node.IsUp)
        {
            node.Crash();
            crashes++;
        }
    }

    private void RestartOne()
    {
        SimulatedNode node = nodes[random.Next(nodes.Length)];
        if (!node.IsUp)
        {
            node.Start(ConfigFor(node));
        }
    }

    private void Partition()
    {
        // Either cut one member off (maybe one way only) or split the group in two.
        if (random.Chance(0.5))
        {
            ulong isolated = (ulong)random.Next(nodes.Length) + 1;
            bool inbound = random.Chance(0.7);
            bool outbound = random.Chance(0.7) || !inbound;
            foreach (SimulatedNode other in nodes)
            {
                if (other.Id == isolated)
                {
                    continue;
                }

                if (outbound)
                {
                    Network.Block(isolated, other.Id);
                }

                if (inbound)
                {
                    Network.Block(other.Id, isolated);
                }
            }
        }
        else
        {
            int mask = random.Next((1 << nodes.Length) - 1) + 1;
            foreach (SimulatedNode a in nodes)
            {
                foreach (SimulatedNode b in nodes)
                {
                    bool sideA = (mask & (1 << (int)(a.Id - 1))) != 0;
                    bool sideB = (mask & (1 << (int)(b.Id - 1))) != 0;
                    if (sideA != sideB)
                    {
                        Network.Block(a.Id, b.Id);
                    }
                }
            }
        }
    }

    private void TransferLeadership()
    {
        foreach (SimulatedNode node in nodes)
        {
            if (node.IsUp && node.Raft!.Role == RaftRole.Leader)
            {
                node.Raft.TransferLeadership((ulong)random.Next(nodes.Length) + 1);
                return;
            }
        }
    }

    /// <summary>
    /// One single-server change through the leader: promote a learner, else add a non-member as a learner,
    /// else remove a voter (possibly the leader). Voters stay within one of the initial count.
    /// </summary>
    private void ChangeMembership()
    {
        if (!Options.MembershipChanges || CurrentLeader() is not { } leader)
        {
            return;
        }

        ConfState conf = leader.Raft!.ConfState;
        ConfChange change;
        if (conf.Learners.Count > 0)
        {
            change = new ConfChange(ConfChangeType.PromoteLearner, conf.Learners[random.Next(conf.Learners.Count)]);
        }
        else if (conf.Voters.Count < Options.MemberCount + 1 && random.Chance(0.6)
            && Array.Find(nodes, n => !conf.IsVoter(n.Id)) is { } outsider)
        {
            change = new ConfChange(ConfChangeType.AddLearner, outsider.Id);
        }
        else if (conf.Voters.Count >= Options.MemberCount)
        {
            change = new ConfChange(ConfChangeType.RemoveNode, conf.Voters[random.Next(conf.Voters.Count)]);
        }
        else
        {
            return;
        }

        if (leader.Raft.ProposeConfChange(change).IsAccepted)
        {
            membershipChanges++;
        }
    }

    private SimulatedNode? CurrentLeader()
    {
        SimulatedNode? best = null;
        foreach (SimulatedNode node in nodes)
        {
            if (node.IsUp && node.Raft!.Role == RaftRole.Leader && (best is null || node.Raft.Term > best.Raft!.Term))
            {
                best = node;
            }
        }

        return best;
    }

    /// <summary>Heals everything and runs fault-free until every member applied the same committed prefix.</summary>
    private void Converge()
    {
        converging = true;
        Network.HealAll();
        foreach (SimulatedNode node in nodes)
        {
            if (!node.IsUp)
            {
                node.Start(ConfigFor(node));
            }
        }

        // Fault-free rounds: drain the network (processing Readys as messages land), then tick.
        long limit = step + ConvergeStepsMax;
        while (step < limit)
        {
            while (step < limit && Network.TryTakeRandom(random, tick, out Message message))
            {
                Deliver(message, allowFaults: false);
                step++;
                ReadyAll();
                Checker.Check(nodes);
            }

            ReadyAll();
            Checker.Check(nodes);
            if (Converged())
            {
                return;
            }

            TickAll();
            step++;
            Checker.Check(nodes);
        }

        // Not converging may mean the data is gone; say so precisely if it is.
        Checker.CheckAcknowledgedWritesSurvived(nodes);
        throw new SimulationViolation("liveness", "the healed group did not converge:\n" + Describe());
    }

    /// <summary>A one-line-per-member dump for failure reports.</summary>
    public string Describe()
    {
        System.Text.StringBuilder text = new();
        foreach (SimulatedNode node in nodes)
        {
            if (!node.IsUp)
            {
                text.AppendLine($"  node {node.Id}: down");
                continue;
            }

            Raft raft = node.Raft!.Raft;
            text.Append($"  node {node.Id}: {raft.Role} term={raft.Term} vote={raft.Vote} lead={raft.Lead} first={raft.Log.FirstIndex} last={raft.Log.LastIndex}/{raft.Log.LastTerm} commit={raft.Log.Committed} applied={raft.Log.Applied} sm={node.AppliedIndex} elapsed={raft.ElectionElapsed}");
            if (raft.Role == RaftRole.Leader)
            {
                foreach (KeyValuePair<ulong, Progress> pair in raft.Tracker.Progress)
                {
                    text.Append($" [{pair.Key}: {pair.Value.State} match={pair.Value.Match} next={pair.Value.Next} paused={pair.Value.IsPaused} inflight={pair.Value.Inflights.Count} active={pair.Value.RecentActive}]");
                }
            }

            text.AppendLine();
        }

        text.Append($"  in flight: {Network.Count}, electionTicks={electionTicks}, heartbeatTicks={heartbeatTicks}, preVote={preVote}, checkQuorum={checkQuorum}, readOnly={readOnly}, maxSize={maxSizePerMessageBytes}, inflight={maxInflightMessages}");
        return text.ToString();
    }

    private bool Converged()
    {
        if (CurrentLeader() is not { } leader)
        {
            return false;
        }

        // Only members of the leader's configuration must converge; removed ones may lag forever.
        ConfState conf = leader.Raft!.ConfState;
        ulong applied = leader.AppliedIndex;
        if (applied < Checker.CommittedCount || leader.Raft.HasReady)
        {
            return false;
        }

        foreach (SimulatedNode node in nodes)
        {
            if (!IsMember(conf, node.Id))
            {
                continue;
            }

            RawNode raft = node.Raft!;
            if (node.AppliedIndex != applied || raft.Committed != applied || raft.HasReady || raft.LastIndex != applied)
            {
                return false;
            }
        }

        // Members that converged hold identical registers.
        foreach (SimulatedNode node in nodes)
        {
            if (!IsMember(conf, node.Id))
            {
                continue;
            }

            if (node.Kv.Count != leader.Kv.Count)
            {
                throw new SimulationViolation("state machine safety", $"node {node.Id} has {node.Kv.Count} keys, leader {leader.Id} has {leader.Kv.Count}");
            }

            foreach (KeyValuePair<int, KvValue> pair in node.Kv)
            {
                if (!leader.Kv.TryGetValue(pair.Key, out KvValue other) || other != pair.Value)
                {
                    throw new SimulationViolation("state machine safety", $"node {node.Id} key {pair.Key} differs after convergence");
                }
            }
        }

        return true;
    }

    private static bool IsMember(ConfState conf, ulong id) => conf.IsVoter(id) || conf.Learners.Contains(id);
}
