namespace Sds.Raft.Tests.Support;

/// <summary>One member of a <see cref="TestCluster"/>: a RawNode, its storage, and what it applied.</summary>
internal sealed class TestMember(ulong id, MemoryRaftLogStorage storage, RawNode node) : IReadyHandler
{
    private readonly List<Message> outbox = [];

    public ulong Id { get; } = id;

    public MemoryRaftLogStorage Storage { get; } = storage;

    public RawNode Node { get; set; } = node;

    public Raft Raft => Node.Raft;

    public List<Entry> Applied { get; } = [];

    public List<ReadState> ReadStates { get; } = [];

    public Snapshot? AppliedSnapshot { get; private set; }

    /// <summary>Runs every pending Ready cycle; returns the messages to deliver.</summary>
    public List<Message> Drain()
    {
        outbox.Clear();
        while (RaftHost.HandleReady(Node, Storage, this))
        {
        }

        return [.. outbox];
    }

    public void Sync()
    {
    }

    public void Send(int groupIndex, IReadOnlyList<Message> messages) => outbox.AddRange(messages);

    public void ApplySnapshot(int groupIndex, Snapshot snapshot) => AppliedSnapshot = snapshot;

    public void Apply(int groupIndex, IReadOnlyList<Entry> committedEntries, IReadOnlyList<ReadState> readStates)
    {
        Applied.AddRange(committedEntries);
        ReadStates.AddRange(readStates);
    }
}
