using System.Collections.Concurrent;

namespace Sds.Gateway.Iscsi.Catalog;

/// <summary>
/// The targets and portals this gateway serves. Lookups are by iSCSI name, which RFC 7143
/// §4.2.7.1 makes case-insensitive. Portals are fixed at startup; targets may be added, replaced
/// and removed while logins and discovery read concurrently (the cluster map changes at run time).
/// A session keeps the <see cref="TargetNode"/> it logged in to; a replacement affects new logins.
/// </summary>
internal sealed class TargetCatalog
{
    private readonly ConcurrentDictionary<string, TargetNode> _targets = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Portal> _portals = new();
    private volatile IReadOnlyList<string> _peerTargetAddresses = Array.Empty<string>();

    /// <summary>Every target (a moment-in-time view, safe to enumerate while targets change).</summary>
    public IEnumerable<TargetNode> Targets => _targets.Values;

    /// <summary>Every portal.</summary>
    public IReadOnlyList<Portal> Portals => _portals;

    /// <summary>Adds a target node.</summary>
    public void AddTarget(TargetNode target) => Invariant.Assert(_targets.TryAdd(target.Name, target), "target names are unique");

    /// <summary>Adds or replaces the target node with <paramref name="target"/>'s name.</summary>
    public void SetTarget(TargetNode target) => _targets[target.Name] = target;

    /// <summary>Removes a target node; false when there was none.</summary>
    public bool RemoveTarget(string name) => _targets.TryRemove(name, out _);

    /// <summary>
    /// TargetAddress values ("host:port,tpgt") of the other gateways of the cluster, which serve the same
    /// targets: SendTargets lists them after this gateway's own portals (DESIGN.md §6), so discovery on any
    /// gateway finds every path. Replaced as a whole when the cluster map changes.
    /// </summary>
    public IReadOnlyList<string> PeerTargetAddresses
    {
        get => _peerTargetAddresses;
        set => _peerTargetAddresses = value;
    }

    /// <summary>Adds a portal.</summary>
    public void AddPortal(Portal portal) => _portals.Add(portal);

    /// <summary>Finds a target by name.</summary>
    public TargetNode? Find(string name) => _targets.TryGetValue(name, out TargetNode? target) ? target : null;
}
