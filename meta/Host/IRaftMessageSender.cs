using Sds.Raft;

namespace Sds.Meta.Host;

/// <summary>Outbound Raft messages of the meta group; implementations queue and return at once (never block the host loop).</summary>
internal interface IRaftMessageSender
{
    /// <summary>Queues <paramref name="messages"/> for their destinations; loss is fine (Raft retransmits).</summary>
    void Send(IReadOnlyList<Message> messages);
}
