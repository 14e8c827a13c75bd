using Sds.Raft;

namespace Sds.Storage.Replication;

/// <summary>One flush-then-compact round: the applied points captured on the loop before the chunk-store flush.</summary>
/// <param name="RetainEntries">Entries kept below the compaction point.</param>
/// <param name="Done">Completed when the round finished (forced rounds only).</param>
internal sealed record FlushRequestState(ulong RetainEntries, TaskCompletionSource? Done)
{
    /// <summary>
    /// Group id → (the replica, its applied index and membership as of it) at flush start. The replica is kept so a
    /// point is never staged on a later replica of the same PG (destroyed and created again while the flush ran:
    /// it would skip entries it never applied after a restart).
    /// </summary>
    public Dictionary<ulong, (PgReplica Replica, ulong Applied, ConfState Conf)> Points { get; } = [];
}
