using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Sds.Raft;
using Sds.Raft.Transport;

namespace Sds.Meta.Host;

/// <summary>
/// Glue between one <see cref="MetaNode"/> and raft-transport: the meta group is group 0 on every member,
/// and members are addressed by their Raft id in decimal (the transport's node id) at their peer address.
/// </summary>
internal sealed class MetaRaftTransport : IRaftMessageSender, IRaftMessageHandler, IRaftTransportReporter, IRaftPeerAddressBook, IAsyncDisposable
{
    /// <summary>Raft group id of the meta group (raft.proto: 0 for meta).</summary>
    public const ulong MetaGroupId = 0;

    private readonly IReadOnlyDictionary<ulong, string> peers;
    private readonly RaftTransportClient client;
    private MetaNode? node;

    /// <summary>Creates the transport for member <paramref name="localId"/>; <paramref name="peers"/> maps Raft ids to host:port.</summary>
    public MetaRaftTransport(ulong localId, IReadOnlyDictionary<ulong, string> peers)
    {
        this.peers = peers;
        client = new RaftTransportClient(new RaftTransportOptions { LocalNodeId = Name(localId) }, this, this);
    }

    /// <summary>Connects the member whose messages this transport carries (before it starts).</summary>
    public void Attach(MetaNode metaNode) => node = metaNode;

    /// <summary>The transport's node id for a Raft id.</summary>
    public static string Name(ulong raftId) => raftId.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public void Send(IReadOnlyList<Message> messages)
    {
        foreach (Message message in messages)
        {
            client.Send(Name(message.To), MetaGroupId, 0, message);
        }
    }

    /// <inheritdoc/>
    public bool Deliver(ulong groupId, ulong groupEpoch, Message message)
    {
        if (groupId != MetaGroupId || node is null)
        {
            return false;
        }

        return node.Deliver(message);
    }

    /// <inheritdoc/>
    public void ReportUnreachable(ulong groupId, ulong toMemberId) => node?.ReportUnreachable(toMemberId);

    /// <inheritdoc/>
    public void ReportSnapshot(ulong groupId, ulong toMemberId, bool failed) => node?.ReportSnapshot(toMemberId, failed);

    /// <inheritdoc/>
    public bool TryGetAddress(string nodeId, [NotNullWhen(true)] out string? address)
    {
        address = null;
        return ulong.TryParse(nodeId, NumberStyles.None, CultureInfo.InvariantCulture, out ulong id) && peers.TryGetValue(id, out address);
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => client.DisposeAsync();
}
