namespace Sds.Raft.Tests;

/// <summary>
/// Network input is hostile until checked (DESIGN.md §9): <see cref="RawNode.Step"/> turns misaddressed or
/// malformed messages into a <see cref="StepStatus"/> instead of reaching the core's assertions.
/// </summary>
public sealed class StepValidationTests
{
    private static RawNode Follower() => new(new RaftConfig { Id = 2, Storage = new MemoryRaftLogStorage(new ConfState([1, 2, 3], [])) });

    public static TheoryData<string, Message, StepStatus> Cases() => new()
    {
        { "to someone else", new Message { Type = MessageType.Heartbeat, From = 1, To = 3, Term = 1 }, StepStatus.WrongAddress },
        { "from nobody", new Message { Type = MessageType.Heartbeat, From = 0, To = 2, Term = 1 }, StepStatus.WrongAddress },
        { "from ourselves", new Message { Type = MessageType.Heartbeat, From = 2, To = 2, Term = 1 }, StepStatus.WrongAddress },
        { "unknown type", new Message { Type = (MessageType)200, From = 1, To = 2, Term = 1 }, StepStatus.Malformed },
        { "term zero", new Message { Type = MessageType.Heartbeat, From = 1, To = 2, Term = 0 }, StepStatus.Malformed },
        { "snapshot missing", new Message { Type = MessageType.Snapshot, From = 1, To = 2, Term = 1 }, StepStatus.Malformed },
        { "entries with a gap", new Message { Type = MessageType.Append, From = 1, To = 2, Term = 1, Entries = [new Entry(1, 1, EntryType.Normal, default), new Entry(1, 3, EntryType.Normal, default)] }, StepStatus.Malformed },
        { "entry from the future", new Message { Type = MessageType.Append, From = 1, To = 2, Term = 1, Entries = [new Entry(5, 1, EntryType.Normal, default)] }, StepStatus.Malformed },
        { "entries on a vote", new Message { Type = MessageType.Vote, From = 1, To = 2, Term = 1, Entries = [new Entry(1, 1, EntryType.Normal, default)] }, StepStatus.Malformed },
        { "good append", new Message { Type = MessageType.Append, From = 1, To = 2, Term = 1, Entries = [new Entry(1, 1, EntryType.Normal, default)] }, StepStatus.Accepted },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadMessagesAreRefusedWithAStatus(string name, Message message, StepStatus expected)
    {
        Assert.NotNull(name);
        RawNode node = Follower();
        Assert.Equal(expected, node.Step(message));
        if (expected != StepStatus.Accepted)
        {
            Assert.False(node.HasReady);
        }
    }
}
