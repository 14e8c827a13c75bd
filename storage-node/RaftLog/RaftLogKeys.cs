using System.Buffers.Binary;

namespace Sds.Storage.RaftLog;

/// <summary>
/// Key layout of the shared Raft-log database: one byte of kind, the group id big-endian (so a group's keys
/// are contiguous and a range delete removes them), then for entries the index big-endian (so iteration is
/// in log order). One database holds every group on the node (TiKV raftstore's raft engine shape).
/// </summary>
internal static class RaftLogKeys
{
    /// <summary>Entry key: kind, group, index.</summary>
    public const int EntryKeyBytes = 1 + 8 + 8;

    /// <summary>Per-group state key: kind, group.</summary>
    public const int StateKeyBytes = 1 + 8;

    /// <summary>Log entry: value = term (8, LE) | type (1) | data.</summary>
    public const byte Entry = (byte)'L';

    /// <summary>Hard state: term, vote, commit (8 LE each).</summary>
    public const byte HardState = (byte)'H';

    /// <summary>Bootstrap membership: voter count (4), voters, learner count (4), learners.</summary>
    public const byte Bootstrap = (byte)'C';

    /// <summary>Latest snapshot point: index (8), term (8), then membership as in <see cref="Bootstrap"/>.</summary>
    public const byte Snapshot = (byte)'S';

    /// <summary>Applied index whose chunk-store effects are durable (8 LE).</summary>
    public const byte Applied = (byte)'A';

    /// <summary>State kind: COMPARE AND WRITE request ids applied, with their outcomes (PgReplica's encoding).</summary>
    public const byte AppliedRequests = (byte)'R';

    public static void WriteEntryKey(Span<byte> key, ulong group, ulong index)
    {
        key[0] = Entry;
        BinaryPrimitives.WriteUInt64BigEndian(key[1..], group);
        BinaryPrimitives.WriteUInt64BigEndian(key[9..], index);
    }

    public static void WriteStateKey(Span<byte> key, byte kind, ulong group)
    {
        key[0] = kind;
        BinaryPrimitives.WriteUInt64BigEndian(key[1..], group);
    }

    public static ulong ReadEntryIndex(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt64BigEndian(key[9..]);

    public static ulong ReadGroup(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt64BigEndian(key[1..]);
}
