using System.Collections.Concurrent;

namespace Sds.Storage.Placement;

/// <summary>
/// Placement from static configuration (<c>sds storage --peers 1=host:port,… --pgs N --replicas R</c>) until
/// the meta service exists: PG members by rendezvous hashing over every configured node, epoch 1.
/// <see cref="Reassign"/> changes one PG's membership (tests; an operator later via meta) and bumps its epoch.
/// </summary>
public sealed class StaticPlacementSource : IPlacementSource
{
    private readonly ConcurrentDictionary<ulong, string> addresses = new();
    private readonly PlacementGroupAssignment[] assignments;
    private readonly object gate = new();

    /// <summary>Creates the placement of <paramref name="placementGroupCount"/> PGs over <paramref name="peers"/>.</summary>
    public StaticPlacementSource(IReadOnlyDictionary<ulong, string> peers, int placementGroupCount, int replicas)
    {
        Invariant.Assert(placementGroupCount > 0 && placementGroupCount <= 65536, "PG count between 1 and 65536");
        Invariant.Assert(replicas > 0 && replicas <= peers.Count, "replicas between 1 and the node count");
        foreach (KeyValuePair<ulong, string> peer in peers)
        {
            addresses[peer.Key] = peer.Value;
        }

        ulong[] nodes = [.. peers.Keys.Order()];
        assignments = new PlacementGroupAssignment[placementGroupCount];
        for (uint pg = 0; pg < placementGroupCount; pg++)
        {
            ulong[] voters = PlacementMath.RendezvousMembers(pg, nodes, replicas);
            assignments[pg] = new PlacementGroupAssignment(pg, 1, voters, []) { Bootstrap = voters };
        }
    }

    /// <inheritdoc/>
    public int PlacementGroupCount => assignments.Length;

    /// <inheritdoc/>
    public event Action? Changed;

    /// <inheritdoc/>
    public PlacementGroupAssignment GetAssignment(uint pgId)
    {
        lock (gate)
        {
            return assignments[pgId];
        }
    }

    /// <inheritdoc/>
    public bool TryGetNodeAddress(ulong memberId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? address) => addresses.TryGetValue(memberId, out address);

    /// <summary>Sets a node's address (a node added to the cluster, or restarted on another port).</summary>
    public void SetAddress(ulong memberId, string address)
    {
        addresses[memberId] = address;
        Changed?.Invoke();
    }

    /// <summary>Replaces a PG's membership and bumps its epoch; the PG's leader carries it out.</summary>
    public void Reassign(uint pgId, ulong[] voters, ulong[] learners)
    {
        lock (gate)
        {
            PlacementGroupAssignment old = assignments[pgId];
            assignments[pgId] = new PlacementGroupAssignment(pgId, old.Epoch + 1, voters, learners) { Bootstrap = old.Bootstrap };
        }

        Changed?.Invoke();
    }
}
