namespace Sds.Gateway.Scsi.Sense;

/// <summary>
/// The value that describes why a command ended in CHECK CONDITION (SPC-4 §4.5). A readonly
/// value, never an exception: handlers return one from the <c>Sense</c> catalogue, optionally
/// with the INFORMATION field (e.g. the miscompare offset, SBC-3 §5.2) or a field pointer
/// (SPC-4 §4.5.2.4.2, sense-key specific) that says which CDB or parameter byte was wrong.
/// </summary>
internal readonly record struct SenseData(SenseKey Key, byte Asc, byte Ascq)
{
    /// <summary>INFORMATION field (SPC-4 §4.5.2.2); meaningful only when <see cref="InformationValid"/>.</summary>
    public ulong Information { get; init; }

    /// <summary>Whether the INFORMATION field carries a value (the VALID bit).</summary>
    public bool InformationValid { get; init; }

    /// <summary>Sense-key specific field pointer: true when it points into the CDB, false for the parameter list.</summary>
    public bool FieldPointerInCdb { get; init; }

    /// <summary>Sense-key specific field pointer: the byte offset of the bad field.</summary>
    public ushort FieldPointer { get; init; }

    /// <summary>Sense-key specific field pointer: bit (0..7) of the bad field, when <see cref="FieldPointerBitValid"/>.</summary>
    public byte FieldPointerBit { get; init; }

    /// <summary>Whether <see cref="FieldPointerBit"/> is meaningful (the BPV bit).</summary>
    public bool FieldPointerBitValid { get; init; }

    /// <summary>Whether a field pointer (SKSV) is present.</summary>
    public bool FieldPointerValid { get; init; }
}
