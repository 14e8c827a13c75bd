namespace Sds.Gateway.Scsi;

/// <summary>Properties of a command that the dispatcher's shared checks consult (tgt keeps these beside <c>ops[]</c>).</summary>
[Flags]
internal enum CommandFlags : ushort
{
    /// <summary>No special handling.</summary>
    None = 0,
    /// <summary>
    /// Served even when a unit attention is pending and does not clear it (SPC-4 r37 §5.14:
    /// INQUIRY, REPORT LUNS; REQUEST SENSE reports the condition itself).
    /// </summary>
    AllowedUnderUnitAttention = 1 << 0,
    /// <summary>Served for a LUN that has no logical unit (SPC-4 r37 §4.6.4.2: INQUIRY, REPORT LUNS, REQUEST SENSE).</summary>
    ServedWithoutLogicalUnit = 1 << 1,
    /// <summary>Modifies the medium: refused with DATA PROTECT on a read-only logical unit.</summary>
    WritesMedium = 1 << 2,
    /// <summary>Allowed from another I_T nexus while an SPC-2 RESERVE(6/10) reservation is held (SPC-2 §7.21.2).</summary>
    AllowedUnderSpc2Reservation = 1 << 3,
    /// <summary>
    /// Does not access the medium: served while a removable medium is ejected by START STOP UNIT
    /// (SBC-3 r36 §5.20); every other command ends in NOT READY, MEDIUM NOT PRESENT (3Ah/00h,
    /// SPC-4 r37 Annex D).
    /// </summary>
    AllowedWithoutMedium = 1 << 4,
}
