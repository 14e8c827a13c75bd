using Sds.Meta.State;
using Sds.Proto.V1;
using Sds.Raft;
using ConfChange = Sds.Raft.ConfChange;

namespace Sds.Meta.Host;

/// <summary>One item of the host loop's inbox; which fields are set depends on <see cref="Kind"/>.</summary>
internal sealed class MetaWork
{
    /// <summary>The tick item (shared: it carries no data).</summary>
    public static readonly MetaWork TickWork = new() { Kind = MetaWorkKind.Tick };

    /// <summary>What to do.</summary>
    public MetaWorkKind Kind { get; init; }

    /// <summary>Step: the message.</summary>
    public Message? Message { get; init; }

    /// <summary>Propose: the command.</summary>
    public MetaCommand? Command { get; init; }

    /// <summary>Propose: completes when applied or given up.</summary>
    public TaskCompletionSource<MetaResult<CommandOutcome>>? Proposal { get; init; }

    /// <summary>Read/Query: runs on the host thread against the state.</summary>
    public Func<MetaStateMachine, object?>? Reader { get; init; }

    /// <summary>Read/Query: completes with the reader's value.</summary>
    public TaskCompletionSource<MetaResult<object?>>? ReadCompletion { get; init; }

    /// <summary>Unreachable/SnapshotReport: the peer.</summary>
    public ulong Peer { get; init; }

    /// <summary>SnapshotReport: the send failed.</summary>
    public bool Failed { get; init; }

    /// <summary>ConfChange: the change.</summary>
    public ConfChange Change { get; init; }

    /// <summary>Read: the caller stopped waiting.</summary>
    public CancellationToken Cancellation { get; init; }
}
