namespace Sds.Raft;

/// <summary>What an <see cref="Entry"/> carries. Persisted: values never change.</summary>
public enum EntryType : byte
{
    /// <summary>Application data; an empty normal entry is the leader's no-op at the start of its term.</summary>
    Normal = 0,

    /// <summary>A serialized <see cref="ConfChange"/> (single-server membership change).</summary>
    ConfChange = 1,
}
