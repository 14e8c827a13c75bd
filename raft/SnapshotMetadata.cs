namespace Sds.Raft;

/// <summary>Where a snapshot sits in the log and the membership at that point (Raft §7).</summary>
/// <param name="Index">Last log index the snapshot covers.</param>
/// <param name="Term">Term of the entry at <paramref name="Index"/>.</param>
/// <param name="ConfState">Membership as of <paramref name="Index"/>.</param>
public readonly record struct SnapshotMetadata(ulong Index, ulong Term, ConfState ConfState);
