namespace Sds.Gateway.Scsi;

/// <summary>
/// Where REPORT TARGET PORT GROUPS gets its list (SPC-4 r37 §6.37). Today one group per gateway;
/// a cluster gateway will answer from the watched cluster map (DESIGN.md §6).
/// </summary>
internal interface ITargetPortGroupProvider
{
    /// <summary>The target port groups, as seen by <paramref name="requester"/>.</summary>
    IReadOnlyList<TargetPortGroup> GetTargetPortGroups(ITNexus requester);
}
