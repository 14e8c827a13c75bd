namespace Sds.Raft.Tests.Support;

/// <summary>An <see cref="IReadyHandler"/> that logs each call with the storage state it saw.</summary>
internal sealed class RecordingReadyHandler(IReadOnlyList<MemoryRaftLogStorage> storages) : IReadyHandler
{
    public List<string> Calls { get; } = [];

    /// <summary>Per Send call, the message types in order ("Append,Heartbeat").</summary>
    public List<string> SentTypes { get; } = [];

    public void Sync() => Calls.Add("sync");

    public void Send(int groupIndex, IReadOnlyList<Message> messages)
    {
        Calls.Add($"send {groupIndex} (persisted last={storages[groupIndex].LastIndex})");
        SentTypes.Add(string.Join(',', messages.Select(static m => m.Type)));
    }

    public void ApplySnapshot(int groupIndex, Snapshot snapshot) => Calls.Add($"snapshot {groupIndex}");

    public void Apply(int groupIndex, IReadOnlyList<Entry> committedEntries, IReadOnlyList<ReadState> readStates) =>
        Calls.Add($"apply {groupIndex} {committedEntries.Count}");
}
