using Sds.Gateway.Iscsi.Login;
using Sds.Gateway.Scsi;

namespace Sds.Gateway.Iscsi.Catalog;

/// <summary>
/// One iSCSI target node (RFC 7143 §4.2.7): its name, alias, the SCSI target device behind it,
/// its authentication and its initiator access list.
/// </summary>
internal sealed class TargetNode
{
    /// <summary>Creates a target node.</summary>
    public TargetNode(string name, string? alias, IScsiTargetDevice device, ChapCredentials? chap = null, ChapCredentials? mutualChap = null, IReadOnlyCollection<string>? allowedInitiators = null)
    {
        Invariant.Assert(name.Length > 0, "a target has a name");
        Invariant.Assert(mutualChap is null || chap is not null, "mutual CHAP needs one-way CHAP");
        Name = name;
        Alias = alias;
        Device = device;
        Chap = chap;
        MutualChap = mutualChap;
        AllowedInitiators = allowedInitiators ?? Array.Empty<string>();
    }

    /// <summary>iSCSI name (IQN).</summary>
    public string Name { get; }

    /// <summary>TargetAlias (RFC 7143 §13.6), if any.</summary>
    public string? Alias { get; }

    /// <summary>The SCSI target device executing commands for this node.</summary>
    public IScsiTargetDevice Device { get; }

    /// <summary>Credentials the initiator must prove (CHAP required when set).</summary>
    public ChapCredentials? Chap { get; }

    /// <summary>Credentials the target answers with when the initiator asks for mutual CHAP.</summary>
    public ChapCredentials? MutualChap { get; }

    /// <summary>Initiator names allowed to log in; empty means any.</summary>
    public IReadOnlyCollection<string> AllowedInitiators { get; }

    /// <summary>Whether <paramref name="initiatorName"/> may log in.</summary>
    public bool Allows(string initiatorName)
    {
        if (AllowedInitiators.Count == 0) return true;
        foreach (string allowed in AllowedInitiators)
        {
            // RFC 7143 §4.2.7.1: iSCSI names compare case-insensitively after stringprep (lowercase).
            if (string.Equals(allowed, initiatorName, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }
}
