namespace Sds.Raft;

/// <summary>One Raft log entry (Raft §5.3): the term it was created in, its index, and its payload.</summary>
/// <param name="Term">Term of the leader that created the entry.</param>
/// <param name="Index">Position in the log, starting at 1.</param>
/// <param name="Type">Payload kind.</param>
/// <param name="Data">Payload; owned by the log once proposed and never mutated.</param>
public readonly record struct Entry(ulong Term, ulong Index, EntryType Type, ReadOnlyMemory<byte> Data)
{
    /// <summary>Fixed per-entry overhead counted in message and batch size limits, in bytes.</summary>
    public const int OverheadBytes = 24;

    /// <summary>Size counted against <c>MaxSizePerMsgBytes</c> and similar limits, in bytes.</summary>
    public ulong SizeBytes => (ulong)(Data.Length + OverheadBytes);
}
