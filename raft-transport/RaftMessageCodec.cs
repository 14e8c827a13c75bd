using Google.Protobuf;
using Sds.Proto.V1;

namespace Sds.Raft.Transport;

/// <summary>
/// Converts between <see cref="Message"/> (the core's form) and <see cref="RaftMessage"/> (the wire form).
/// Entry payloads are wrapped, not copied, in both directions: a message handed out by the core is never
/// mutated (raft/Message.cs), and a received payload is owned by the entry it becomes.
/// </summary>
/// <remarks>
/// The enum values differ between the two forms (the proto follows etcd's numbering, the core its own
/// persisted values), so the mapping is an explicit table and an unknown wire type is refused rather than
/// cast. A refused message is dropped: Raft tolerates loss (Raft §5.3 retries), so bad input costs nothing.
/// Entry data of <c>EntryType.ConfChange</c> is the core's own encoding (raft/ConfChange.cs), carried opaquely.
/// </remarks>
public static class RaftMessageCodec
{
    /// <summary>Largest number of entries accepted in one received message; a bound on hostile input.</summary>
    public const int MaxEntriesPerMessage = 65536;

    /// <summary>Wire form of <paramref name="message"/>.</summary>
    public static RaftMessage ToProto(Message message)
    {
        Invariant.Assert(message is not null, "message required");
        var proto = new RaftMessage
        {
            Type = ToProto(message.Type),
            To = message.To,
            From = message.From,
            Term = message.Term,
            LogTerm = message.LogTerm,
            Index = message.Index,
            Commit = message.Commit,
            Reject = message.Reject,
            RejectHint = message.RejectHint,
            ReadRound = message.Context,
            LeaseTick = message.LeaseTick,
            Transfer = message.Transfer,
        };
        foreach (Entry entry in message.Entries)
        {
            proto.Entries.Add(new Proto.V1.Entry
            {
                Term = entry.Term,
                Index = entry.Index,
                Type = entry.Type == Raft.EntryType.ConfChange ? Proto.V1.EntryType.ConfChange : Proto.V1.EntryType.Normal,
                Data = UnsafeByteOperations.UnsafeWrap(entry.Data),
            });
        }

        if (message.Snapshot is { } snapshot)
        {
            proto.Snapshot = new Proto.V1.Snapshot
            {
                Data = UnsafeByteOperations.UnsafeWrap(snapshot.Data),
                Metadata = ToProto(snapshot.Metadata),
            };
        }

        return proto;
    }

    /// <summary>Wire form of snapshot metadata (also used by the PG chunk snapshot stream).</summary>
    public static Proto.V1.SnapshotMetadata ToProto(Raft.SnapshotMetadata metadata)
    {
        var conf = new Proto.V1.ConfState();
        conf.Voters.AddRange(metadata.ConfState.Voters);
        conf.Learners.AddRange(metadata.ConfState.Learners);
        return new Proto.V1.SnapshotMetadata { Index = metadata.Index, Term = metadata.Term, ConfState = conf };
    }

    /// <summary>
    /// Core form of <paramref name="proto"/>; false (and null) for a message no correct peer sends: unknown
    /// type, a snapshot without metadata or with index 0, too many entries, an unknown entry type.
    /// Semantic checks (addressing, contiguity) are <c>RawNode.Step</c>'s.
    /// </summary>
    public static bool TryFromProto(RaftMessage proto, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Message? message)
    {
        message = null;
        if (!TryFromProto(proto.Type, out MessageType type) || proto.Entries.Count > MaxEntriesPerMessage)
        {
            return false;
        }

        Raft.Snapshot? snapshot = null;
        if (proto.Snapshot is { } wireSnapshot)
        {
            if (!TryFromProto(wireSnapshot.Metadata, out Raft.SnapshotMetadata metadata))
            {
                return false;
            }

            snapshot = new Raft.Snapshot(metadata, wireSnapshot.Data.Memory);
        }

        Entry[] entries = proto.Entries.Count == 0 ? [] : new Entry[proto.Entries.Count];
        for (int i = 0; i < entries.Length; i++)
        {
            Proto.V1.Entry wire = proto.Entries[i];
            if (wire.Type is not (Proto.V1.EntryType.Normal or Proto.V1.EntryType.ConfChange))
            {
                return false;
            }

            Raft.EntryType entryType = wire.Type == Proto.V1.EntryType.ConfChange ? Raft.EntryType.ConfChange : Raft.EntryType.Normal;
            entries[i] = new Entry(wire.Term, wire.Index, entryType, wire.Data.Memory);
        }

        message = new Message
        {
            Type = type,
            To = proto.To,
            From = proto.From,
            Term = proto.Term,
            LogTerm = proto.LogTerm,
            Index = proto.Index,
            Entries = entries,
            Commit = proto.Commit,
            Snapshot = snapshot,
            Reject = proto.Reject,
            RejectHint = proto.RejectHint,
            Context = proto.ReadRound,
            LeaseTick = proto.LeaseTick,
            Transfer = proto.Transfer,
        };
        return true;
    }

    /// <summary>Core form of snapshot metadata; false when absent or covering no entry.</summary>
    public static bool TryFromProto(Proto.V1.SnapshotMetadata? proto, out Raft.SnapshotMetadata metadata)
    {
        metadata = default;
        if (proto is null || proto.Index == 0 || proto.Term == 0)
        {
            return false;
        }

        ulong[] voters = [.. proto.ConfState?.Voters ?? []];
        ulong[] learners = [.. proto.ConfState?.Learners ?? []];
        foreach (ulong voter in voters)
        {
            if (voter == 0 || Array.IndexOf(learners, voter) >= 0)
            {
                return false;
            }
        }

        if (Array.IndexOf(learners, 0UL) >= 0)
        {
            return false;
        }

        metadata = new Raft.SnapshotMetadata(proto.Index, proto.Term, new Raft.ConfState(voters, learners));
        return true;
    }

    /// <summary>Wire type of a core message type.</summary>
    public static RaftMessageType ToProto(MessageType type) => type switch
    {
        MessageType.Append => RaftMessageType.Append,
        MessageType.AppendResponse => RaftMessageType.AppendResponse,
        MessageType.Vote => RaftMessageType.Vote,
        MessageType.VoteResponse => RaftMessageType.VoteResponse,
        MessageType.PreVote => RaftMessageType.PreVote,
        MessageType.PreVoteResponse => RaftMessageType.PreVoteResponse,
        MessageType.Snapshot => RaftMessageType.Snapshot,
        MessageType.Heartbeat => RaftMessageType.Heartbeat,
        MessageType.HeartbeatResponse => RaftMessageType.HeartbeatResponse,
        MessageType.TimeoutNow => RaftMessageType.TimeoutNow,
        MessageType.ReadIndex => RaftMessageType.ReadIndex,
        MessageType.ReadIndexResponse => RaftMessageType.ReadIndexResponse,
        _ => throw new System.Diagnostics.UnreachableException("the core only sends the types above"),
    };

    /// <summary>Core type of a wire type; false for types the core never receives.</summary>
    public static bool TryFromProto(RaftMessageType type, out MessageType result)
    {
        result = type switch
        {
            RaftMessageType.Append => MessageType.Append,
            RaftMessageType.AppendResponse => MessageType.AppendResponse,
            RaftMessageType.Vote => MessageType.Vote,
            RaftMessageType.VoteResponse => MessageType.VoteResponse,
            RaftMessageType.PreVote => MessageType.PreVote,
            RaftMessageType.PreVoteResponse => MessageType.PreVoteResponse,
            RaftMessageType.Snapshot => MessageType.Snapshot,
            RaftMessageType.Heartbeat => MessageType.Heartbeat,
            RaftMessageType.HeartbeatResponse => MessageType.HeartbeatResponse,
            RaftMessageType.TimeoutNow => MessageType.TimeoutNow,
            RaftMessageType.ReadIndex => MessageType.ReadIndex,
            RaftMessageType.ReadIndexResponse => MessageType.ReadIndexResponse,
            _ => 0,
        };
        return result != 0;
    }
}
