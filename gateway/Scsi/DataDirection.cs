namespace Sds.Gateway.Scsi;

/// <summary>Which way a command's data moves, seen from the initiator (RFC 7143 §11.3.1 R/W bits).</summary>
internal enum DataDirection : byte
{
    /// <summary>No data phase.</summary>
    None = 0,
    /// <summary>Target to initiator (Data-In).</summary>
    Read = 1,
    /// <summary>Initiator to target (Data-Out).</summary>
    Write = 2,
    /// <summary>Both (bidirectional commands).</summary>
    Bidirectional = 3,
}
