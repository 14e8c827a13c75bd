namespace Sds.Raft;

/// <summary>A state-machine snapshot replacing the log up to <see cref="SnapshotMetadata.Index"/> (Raft §7).</summary>
public sealed class Snapshot
{
    /// <summary>Creates a snapshot; the index must be at least 1.</summary>
    public Snapshot(SnapshotMetadata metadata, ReadOnlyMemory<byte> data)
    {
        Invariant.Assert(metadata.Index > 0 && metadata.Term > 0, "a snapshot covers at least one entry");
        Metadata = metadata;
        Data = data;
    }

    /// <summary>Position and membership.</summary>
    public SnapshotMetadata Metadata { get; }

    /// <summary>The application's serialized state at <see cref="SnapshotMetadata.Index"/>.</summary>
    public ReadOnlyMemory<byte> Data { get; }
}
