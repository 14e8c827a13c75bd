namespace Sds.Raft;

/// <summary>Result of a log-storage read: values, not exceptions (STYLE.md).</summary>
public enum StorageStatus : byte
{
    /// <summary>The data was returned.</summary>
    Ok = 0,

    /// <summary>The requested index precedes the first retained entry (compacted into a snapshot).</summary>
    Compacted = 1,

    /// <summary>The requested index lies beyond the last entry, or no snapshot is available yet.</summary>
    Unavailable = 2,
}
