namespace Sds.Raft;

/// <summary>The host-side actions <see cref="RaftHost"/> performs on a <see cref="Ready"/>, in its documented order.</summary>
public interface IReadyHandler
{
    /// <summary>Makes every storage write staged so far durable (one fsync, or one synced write batch for many groups).</summary>
    void Sync();

    /// <summary>Sends messages of group <paramref name="groupIndex"/>; must not block on the network.</summary>
    void Send(int groupIndex, IReadOnlyList<Message> messages);

    /// <summary>Replaces the state machine of group <paramref name="groupIndex"/> by the snapshot's data.</summary>
    void ApplySnapshot(int groupIndex, Snapshot snapshot);

    /// <summary>Applies committed entries, in order, then serves reads whose index is now applied.</summary>
    void Apply(int groupIndex, IReadOnlyList<Entry> committedEntries, IReadOnlyList<ReadState> readStates);
}
