namespace Sds.Storage.Placement;

/// <summary>
/// Where a storage node (and <c>StorageClient</c>) learns PG membership and node addresses. A static
/// configuration implements it today (<see cref="StaticPlacementSource"/>); the meta watch stream implements
/// it later. Membership changes are decided here and executed by each PG's own Raft (DESIGN.md §4–§5):
/// the PG leader walks its configuration towards the assignment one single-server step at a time.
/// </summary>
public interface IPlacementSource
{
    /// <summary>Number of PGs; chunk → PG is <see cref="PlacementMath.PgForChunk"/> over this count.</summary>
    int PlacementGroupCount { get; }

    /// <summary>The current assignment of <paramref name="pgId"/>.</summary>
    PlacementGroupAssignment GetAssignment(uint pgId);

    /// <summary>gRPC address (host:port) of the node with Raft member id <paramref name="memberId"/>.</summary>
    bool TryGetNodeAddress(ulong memberId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? address);

    /// <summary>Raised (on any thread) after an assignment or address changed.</summary>
    event Action? Changed;
}
