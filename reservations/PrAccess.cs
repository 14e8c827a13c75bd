namespace Sds.Reservations;

/// <summary>
/// How a command behaves under a persistent reservation held by another I_T nexus, after
/// SPC-4 r37 §5.9.1 table 48 ("SPC commands that are allowed in the presence of various
/// reservations") and SBC-3 r36 table 8. tgt stores the same thing as PR_* bits in its ops table.
/// </summary>
internal enum PrAccess : byte
{
    /// <summary>Allowed under every reservation type (INQUIRY, REPORT LUNS, PR IN/OUT, …).</summary>
    Allowed = 0,
    /// <summary>
    /// A read of the medium (or similar): allowed under Write Exclusive types; under Exclusive Access
    /// conflicts for non-holders, except registrants under the registrants-only/all-registrants types.
    /// </summary>
    Read = 1,
    /// <summary>
    /// A write or state change: conflicts for non-holders under every type, except registrants under
    /// the registrants-only/all-registrants types.
    /// </summary>
    Write = 2,
}
