namespace Sds.Raft.Tests.Support;

/// <summary>
/// A hand-driven group for unit tests: members over memory storage, a FIFO network with per-link
/// blocking, and explicit ticks. <see cref="Stabilize"/> runs Ready cycles and delivers messages until
/// nothing moves. No randomness except each member's seeded election timeout.
/// </summary>
internal sealed class TestCluster
{
    private readonly HashSet<(ulong From, ulong To)> blocked = [];
    private readonly Func<ulong, MemoryRaftLogStorage, RaftConfig> configure;

    public TestCluster(int voters, Func<ulong, MemoryRaftLogStorage, RaftConfig>? configure = null, int learners = 0)
    {
        this.configure = configure ?? DefaultConfig;
        ulong[] voterIds = Enumerable.Range(1, voters).Select(static i => (ulong)i).ToArray();
        ulong[] learnerIds = Enumerable.Range(voters + 1, learners).Select(static i => (ulong)i).ToArray();
        ConfState bootstrap = new(voterIds, learnerIds);
        foreach (ulong id in voterIds.Concat(learnerIds))
        {
            Add(id, new MemoryRaftLogStorage(bootstrap));
        }
    }

    public Dictionary<ulong, TestMember> Members { get; } = [];

    public Queue<Message> Network { get; } = new();

    /// <summary>Messages dropped by blocked links so far.</summary>
    public List<Message> Dropped { get; } = [];

    public TestMember this[ulong id] => Members[id];

    public static RaftConfig DefaultConfig(ulong id, MemoryRaftLogStorage storage) => new()
    {
        Id = id,
        Storage = storage,
        ElectionTicks = 10,
        HeartbeatTicks = 1,
        Random = new SplitMix64Random(id * 7919),
    };

    public TestMember Add(ulong id, MemoryRaftLogStorage storage)
    {
        TestMember member = new(id, storage, new RawNode(configure(id, storage)));
        Members[id] = member;
        return member;
    }

    /// <summary>Simulates a restart from what the storage holds (memory storage: everything saved).</summary>
    public void Restart(ulong id)
    {
        TestMember old = Members[id];
        Members[id] = new TestMember(id, old.Storage, new RawNode(configure(id, old.Storage)));
    }

    public void Block(ulong from, ulong to) => blocked.Add((from, to));

    public void Isolate(ulong id)
    {
        foreach (ulong other in Members.Keys)
        {
            if (other != id)
            {
                Block(id, other);
                Block(other, id);
            }
        }
    }

    public void Heal() => blocked.Clear();

    /// <summary>Collects every member's pending output into the network.</summary>
    public void Flush()
    {
        foreach (TestMember member in Members.Values)
        {
            foreach (Message message in member.Drain())
            {
                Network.Enqueue(message);
            }
        }
    }

    /// <summary>Runs Ready cycles and delivers messages (in order) until nothing is left.</summary>
    public void Stabilize(int maxRounds = 10_000)
    {
        for (int round = 0; round < maxRounds; round++)
        {
            Flush();
            if (Network.Count == 0)
            {
                return;
            }

            while (Network.TryDequeue(out Message? message))
            {
                Deliver(message);
            }
        }

        throw new InvalidOperationException("cluster did not stabilize");
    }

    public void Deliver(Message message)
    {
        if (blocked.Contains((message.From, message.To)) || !Members.TryGetValue(message.To, out TestMember? to))
        {
            Dropped.Add(message);
            return;
        }

        to.Node.Step(message);
    }

    /// <summary>Ticks every member <paramref name="ticks"/> times, stabilizing after each tick.</summary>
    public void TickAll(int ticks)
    {
        for (int i = 0; i < ticks; i++)
        {
            foreach (TestMember member in Members.Values)
            {
                member.Node.Tick();
            }

            Stabilize();
        }
    }

    /// <summary>Elects <paramref name="id"/> by campaigning and stabilizing (pre-vote included).</summary>
    public TestMember Elect(ulong id)
    {
        Members[id].Node.Campaign();
        Stabilize();
        Assert.Equal(RaftRole.Leader, Members[id].Node.Role);
        return Members[id];
    }

    public ProposeResult Propose(ulong id, string text)
    {
        ProposeResult result = Members[id].Node.Propose(System.Text.Encoding.UTF8.GetBytes(text));
        Stabilize();
        return result;
    }

    public static string Text(Entry entry) => System.Text.Encoding.UTF8.GetString(entry.Data.Span);
}
