namespace Sds.Raft.Tests.Simulation;

/// <summary>
/// One client call on a single-key register, with its real-time interval in simulation steps. A write's
/// value is its unique <see cref="WriteId"/>; a read observes the log index of the write it saw (0 = initial).
/// </summary>
internal sealed class ClientOperation
{
    public required int Id { get; init; }

    public required bool IsWrite { get; init; }

    public required int Key { get; init; }

    public ulong WriteId { get; init; }

    public required long InvokeStep { get; init; }

    /// <summary>-1 while pending or indeterminate.</summary>
    public long CompleteStep { get; set; } = -1;

    /// <summary>Write: log index it was proposed at. Read: index of the write observed.</summary>
    public ulong Index { get; set; }

    /// <summary>Write: term it was proposed in.</summary>
    public ulong Term { get; set; }

    /// <summary>Read: write id observed.</summary>
    public ulong ObservedWriteId { get; set; }

    public bool IsComplete => CompleteStep >= 0;

    public override string ToString() =>
        IsWrite ? $"write#{Id} key={Key} id={WriteId} at {Index}/{Term} [{InvokeStep},{CompleteStep}]"
                : $"read#{Id} key={Key} saw id={ObservedWriteId} at {Index} [{InvokeStep},{CompleteStep}]";
}
