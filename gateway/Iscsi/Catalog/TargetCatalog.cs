namespace Sds.Gateway.Iscsi.Catalog;

/// <summary>
/// The targets and portals this gateway serves. Lookups are by iSCSI name, which RFC 7143
/// §4.2.7.1 makes case-insensitive. Built at startup; read concurrently afterwards.
/// </summary>
internal sealed class TargetCatalog
{
    private readonly Dictionary<string, TargetNode> _targets = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Portal> _portals = new();

    /// <summary>Every target, in insertion order of names.</summary>
    public IEnumerable<TargetNode> Targets => _targets.Values;

    /// <summary>Every portal.</summary>
    public IReadOnlyList<Portal> Portals => _portals;

    /// <summary>Adds a target node.</summary>
    public void AddTarget(TargetNode target) => _targets.Add(target.Name, target);

    /// <summary>Adds a portal.</summary>
    public void AddPortal(Portal portal) => _portals.Add(portal);

    /// <summary>Finds a target by name.</summary>
    public TargetNode? Find(string name) => _targets.TryGetValue(name, out TargetNode? target) ? target : null;
}
