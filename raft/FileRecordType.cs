namespace Sds.Raft;

/// <summary>Record kinds in a <see cref="FileRaftLogStorage"/> segment. Persisted: values never change.</summary>
internal enum FileRecordType : byte
{
    /// <summary>term u64, index u64, entry type u8, data.</summary>
    Entry = 1,

    /// <summary>term u64, vote u64, commit u64.</summary>
    HardState = 2,

    /// <summary>The bootstrap membership: voter count u32, voters, learner count u32, learners.</summary>
    Bootstrap = 3,

    /// <summary>
    /// index u64, term u64: the log before and at this point is gone (replaced by an installed snapshot, or
    /// compacted); entries that follow continue from index + 1.
    /// </summary>
    SnapshotBase = 4,

    /// <summary>
    /// Ends one atomic group (one <c>Save</c>, the bootstrap, or a compaction rewrite): replay applies a group's
    /// records only when it reaches this marker, so a crash inside a group loses the whole group.
    /// </summary>
    GroupEnd = 5,
}
