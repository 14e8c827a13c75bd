namespace Sds.Raft.Transport;

/// <summary>
/// The receiving side of the transport: a Multi-Raft host that takes each group's messages. Called from
/// the server's request threads, concurrently; an implementation hands the message to the thread that
/// owns the group (a bounded inbox) and never blocks on Raft work.
/// </summary>
public interface IRaftMessageHandler
{
    /// <summary>
    /// Delivers <paramref name="message"/> for group <paramref name="groupId"/> sent under
    /// <paramref name="groupEpoch"/>. False when it was dropped (unknown group, stale epoch, inbox full);
    /// the sender's Raft retransmits as needed.
    /// </summary>
    bool Deliver(ulong groupId, ulong groupEpoch, Message message);
}
