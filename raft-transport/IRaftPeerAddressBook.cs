namespace Sds.Raft.Transport;

/// <summary>
/// Resolves a node id to its gRPC address (host:port). Static configuration implements it today, the meta
/// cluster map later; an address that changes is picked up at the next reconnect.
/// </summary>
public interface IRaftPeerAddressBook
{
    /// <summary>The address of <paramref name="nodeId"/>, false when unknown.</summary>
    bool TryGetAddress(string nodeId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? address);
}
