namespace Sds.Gateway.Scsi;

/// <summary>
/// An I_T nexus (SAM-5 §4.7): one initiator port talking to one target port. Reservations
/// (SPC-4 §5.9) and unit attentions are kept per nexus, so equality is by value: a session
/// reinstated with the same ISID on the same portal group is the same nexus (RFC 7143 §4.4.3).
/// </summary>
/// <param name="InitiatorName">The initiator's iSCSI name (InitiatorName key).</param>
/// <param name="Isid">The 48-bit ISID of the session.</param>
/// <param name="TargetName">The target's iSCSI name.</param>
/// <param name="PortalGroupTag">The target portal group tag (TPGT) the session logged in through.</param>
/// <param name="RelativeTargetPortId">SPC-4 relative target port identifier of that port (1-based).</param>
/// <param name="TargetPortGroupId">ALUA target port group the port belongs to (one per gateway).</param>
internal sealed record ITNexus(
    string InitiatorName,
    ulong Isid,
    string TargetName,
    ushort PortalGroupTag,
    ushort RelativeTargetPortId,
    ushort TargetPortGroupId)
{
    /// <summary>RFC 7143 §13.9 SCSI initiator port name: "name,i,0x" + 12 hex digits of ISID.</summary>
    public string InitiatorPortName => $"{InitiatorName},i,0x{Isid:x12}";

    /// <summary>RFC 7143 §13.9 SCSI target port name: "name,t,0x" + 4 hex digits of TPGT.</summary>
    public string TargetPortName => $"{TargetName},t,0x{PortalGroupTag:x4}";
}
