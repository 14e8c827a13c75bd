namespace Sds.Reservations;

/// <summary>SPC-4 r37 §6.15.3 table 165 persistent reservation TYPE codes (0 = no reservation here).</summary>
internal enum ReservationType : byte
{
    /// <summary>No persistent reservation is held.</summary>
    None = 0x0,
    /// <summary>Write Exclusive.</summary>
    WriteExclusive = 0x1,
    /// <summary>Exclusive Access.</summary>
    ExclusiveAccess = 0x3,
    /// <summary>Write Exclusive – Registrants Only.</summary>
    WriteExclusiveRegistrantsOnly = 0x5,
    /// <summary>Exclusive Access – Registrants Only.</summary>
    ExclusiveAccessRegistrantsOnly = 0x6,
    /// <summary>Write Exclusive – All Registrants.</summary>
    WriteExclusiveAllRegistrants = 0x7,
    /// <summary>Exclusive Access – All Registrants.</summary>
    ExclusiveAccessAllRegistrants = 0x8,
}
