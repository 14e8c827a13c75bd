namespace Sds.Storage.Replication;

/// <summary>
/// A client operation waiting on the event loop. Owned by the loop from enqueue until it completes
/// <see cref="Completion"/> exactly once (continuations run asynchronously, never on the loop thread).
/// </summary>
internal sealed class PgOperation
{
    public PgOperation(PgOperationKind kind, uint pgId, ulong epoch, byte[]? payload)
    {
        Invariant.Assert((kind == PgOperationKind.Propose) == (payload is not null), "only proposals carry a payload");
        Kind = kind;
        PgId = pgId;
        Epoch = epoch;
        Payload = payload;
    }

    public PgOperationKind Kind { get; }

    public uint PgId { get; }

    /// <summary>Epoch the caller routed with; 0 accepts any.</summary>
    public ulong Epoch { get; }

    /// <summary>The entry payload (proposals only); owned by the Raft log once proposed.</summary>
    public byte[]? Payload { get; }

    /// <summary>Log position the proposal was appended at (Raft: acknowledged when this index applies with this term).</summary>
    public ulong Index { get; set; }

    public ulong Term { get; set; }

    public TaskCompletionSource<PgResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Complete(in PgResult result) => Completion.TrySetResult(result);
}
