using System.Globalization;
using Sds.Raft.Transport;

namespace Sds.Storage.Placement;

/// <summary>The Raft transport's address book over placement: node id (decimal member id) → gRPC address.</summary>
internal sealed class PlacementAddressBook : IRaftPeerAddressBook
{
    private readonly IPlacementSource placement;

    public PlacementAddressBook(IPlacementSource placement) => this.placement = placement;

    public bool TryGetAddress(string nodeId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? address)
    {
        address = null;
        return ulong.TryParse(nodeId, NumberStyles.None, CultureInfo.InvariantCulture, out ulong member) && placement.TryGetNodeAddress(member, out address);
    }
}
