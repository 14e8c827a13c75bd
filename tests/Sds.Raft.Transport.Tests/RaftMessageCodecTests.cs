using Google.Protobuf;
using Sds.Proto.V1;

namespace Sds.Raft.Transport.Tests;

/// <summary>
/// Proves the wire conversion is lossless for every message type the core sends, and that input no correct
/// peer sends (unknown type, snapshot without metadata, unknown entry type) is refused as a value.
/// </summary>
public sealed class RaftMessageCodecTests
{
    public static TheoryData<Raft.MessageType> AllTypes() => new(Enum.GetValues<Raft.MessageType>());

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void EveryFieldSurvivesARoundTrip(Raft.MessageType type)
    {
        var original = new Message
        {
            Type = type, To = 2, From = 1, Term = 7, LogTerm = 6, Index = 41, Commit = 40, Reject = true, RejectHint = 39,
            Context = 5, LeaseTick = 1234, Transfer = true,
            Entries = [new Raft.Entry(7, 42, Raft.EntryType.Normal, new byte[] { 1, 2, 3 }), new Raft.Entry(7, 43, Raft.EntryType.ConfChange, new ConfChange(ConfChangeType.AddLearner, 4).Encode())],
            Snapshot = type == Raft.MessageType.Snapshot ? new Raft.Snapshot(new Raft.SnapshotMetadata(30, 5, new Raft.ConfState([1, 2, 3], [4])), new byte[] { 9 }) : null,
        };

        // Through bytes, as on the wire.
        RaftMessage parsed = RaftMessage.Parser.ParseFrom(RaftMessageCodec.ToProto(original).ToByteArray());
        Assert.True(RaftMessageCodec.TryFromProto(parsed, out Message? back));
        Assert.Equal(original.ToString(), back.ToString());
        Assert.Equal((original.Context, original.LeaseTick, original.Transfer), (back.Context, back.LeaseTick, back.Transfer));
        Assert.Equal(2, back.Entries.Length);
        Assert.Equal(Raft.EntryType.ConfChange, back.Entries[1].Type);
        Assert.Equal(original.Entries[1].Data.ToArray(), back.Entries[1].Data.ToArray());
        if (original.Snapshot is not null)
        {
            Assert.Equal(original.Snapshot.Metadata.Index, back.Snapshot!.Metadata.Index);
            Assert.Equal(new ulong[] { 1, 2, 3 }, back.Snapshot.Metadata.ConfState.Voters);
            Assert.Equal(new ulong[] { 4 }, back.Snapshot.Metadata.ConfState.Learners);
        }
    }

    [Fact]
    public void InputNoPeerSendsIsRefused()
    {
        Assert.False(RaftMessageCodec.TryFromProto(new RaftMessage { Type = RaftMessageType.Unspecified }, out _));
        Assert.False(RaftMessageCodec.TryFromProto(new RaftMessage { Type = RaftMessageType.TransferLeader }, out _));
        Assert.False(RaftMessageCodec.TryFromProto(new RaftMessage { Type = RaftMessageType.Snapshot, Snapshot = new Proto.V1.Snapshot() }, out _));
        var badEntry = new RaftMessage { Type = RaftMessageType.Append };
        badEntry.Entries.Add(new Proto.V1.Entry { Type = (Proto.V1.EntryType)7, Index = 1, Term = 1 });
        Assert.False(RaftMessageCodec.TryFromProto(badEntry, out _));
        var overlap = new RaftMessage { Type = RaftMessageType.Snapshot, Snapshot = new Proto.V1.Snapshot { Metadata = new Proto.V1.SnapshotMetadata { Index = 1, Term = 1, ConfState = new Proto.V1.ConfState { Voters = { 1 }, Learners = { 1 } } } } };
        Assert.False(RaftMessageCodec.TryFromProto(overlap, out _));
    }
}
