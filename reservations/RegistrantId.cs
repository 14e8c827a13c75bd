namespace Sds.Reservations;

/// <summary>
/// The I_T nexus a registration belongs to (SPC-4 r37 §5.9.6): initiator port (iSCSI name + ISID)
/// and relative target port. The gateway builds one from its ITNexus without allocating
/// (<c>RegistrantIds.Of</c>); meta decodes one from a proto ItNexus (<see cref="ReservationStateCodec"/>).
/// </summary>
/// <param name="InitiatorName">iSCSI initiator name.</param>
/// <param name="Isid">ISID of the initiator port.</param>
/// <param name="RelativeTargetPortId">Relative target port identifier.</param>
internal readonly record struct RegistrantId(string InitiatorName, ulong Isid, ushort RelativeTargetPortId)
{
    /// <summary>Whether both are the same initiator port, whatever the target port (SPC-4 "same initiator port").</summary>
    public bool SameInitiatorPort(in RegistrantId other) =>
        Isid == other.Isid && string.Equals(InitiatorName, other.InitiatorName, StringComparison.Ordinal);

    /// <summary>RFC 7143 §13.9 initiator port name "name,i,0x" + ISID (for TransportID encoding).</summary>
    public string InitiatorPortName => $"{InitiatorName},i,0x{Isid:x12}";
}
