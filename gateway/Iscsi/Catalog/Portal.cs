using System.Net;

namespace Sds.Gateway.Iscsi.Catalog;

/// <summary>
/// A network portal (RFC 7143 §4.2.7) with its target portal group tag. Each portal here is its
/// own portal group and its own SCSI target port, so two portals are two paths.
/// </summary>
/// <param name="EndPoint">Address and TCP port.</param>
/// <param name="PortalGroupTag">TPGT (RFC 7143 §13.9).</param>
/// <param name="RelativeTargetPortId">SPC-4 relative target port identifier (1-based).</param>
/// <param name="TargetPortGroupId">ALUA target port group of this gateway.</param>
internal sealed record Portal(IPEndPoint EndPoint, ushort PortalGroupTag, ushort RelativeTargetPortId, ushort TargetPortGroupId)
{
    /// <summary>TargetAddress value (RFC 7143 §13.8): "host:port,tpgt".</summary>
    public string TargetAddress => EndPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
        ? $"[{EndPoint.Address}]:{EndPoint.Port},{PortalGroupTag}"
        : $"{EndPoint.Address}:{EndPoint.Port},{PortalGroupTag}";
}
