using Sds.Raft;

namespace Sds.Storage.Replication;

/// <summary>One flush-then-compact round: the applied points captured on the loop before the chunk-store flush.</summary>
/// <param name="RetainEntries">Entries kept below the compaction point.</param>
/// <param name="Done">Completed when the round finished (forced rounds only).</param>
internal sealed record FlushRequestState(ulong RetainEntries, TaskCompletionSource? Done)
{
    /// <summary>Group id → (applied index, membership as of it) at flush start.</summary>
    public Dictionary<ulong, (ulong Applied, ConfState Conf)> Points { get; } = [];
}
