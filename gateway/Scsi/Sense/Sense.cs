namespace Sds.Gateway.Scsi.Sense;

/// <summary>
/// The static catalogue of sense values (SPC-4 r37 §4.5.6, Annex D ASC/ASCQ assignments). Handlers
/// return these, never build sense ad hoc; field pointers are attached with <see cref="InvalidFieldInCdbAt"/>
/// and <see cref="InvalidFieldInParameterListAt"/>.
/// </summary>
internal static class Sense
{
    /// <summary>NO SENSE: nothing to report (REQUEST SENSE with no pending condition).</summary>
    public static readonly SenseData NoSense = new(SenseKey.NoSense, 0x00, 0x00);
    /// <summary>ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (20/00).</summary>
    public static readonly SenseData InvalidCommandOperationCode = new(SenseKey.IllegalRequest, 0x20, 0x00);
    /// <summary>ILLEGAL REQUEST, INVALID FIELD IN CDB (24/00), without a field pointer.</summary>
    public static readonly SenseData InvalidFieldInCdb = new(SenseKey.IllegalRequest, 0x24, 0x00);
    /// <summary>ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST (26/00), without a field pointer.</summary>
    public static readonly SenseData InvalidFieldInParameterList = new(SenseKey.IllegalRequest, 0x26, 0x00);
    /// <summary>ILLEGAL REQUEST, PARAMETER LIST LENGTH ERROR (1A/00).</summary>
    public static readonly SenseData ParameterListLengthError = new(SenseKey.IllegalRequest, 0x1A, 0x00);
    /// <summary>ILLEGAL REQUEST, INVALID FIELD IN COMMAND INFORMATION UNIT (0E/03): Data-Out not a whole number of blocks.</summary>
    public static readonly SenseData InvalidFieldInCommandInformationUnit = new(SenseKey.IllegalRequest, 0x0E, 0x03);
    /// <summary>ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21/00).</summary>
    public static readonly SenseData LbaOutOfRange = new(SenseKey.IllegalRequest, 0x21, 0x00);
    /// <summary>ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (25/00).</summary>
    public static readonly SenseData LogicalUnitNotSupported = new(SenseKey.IllegalRequest, 0x25, 0x00);
    /// <summary>ILLEGAL REQUEST, SAVING PARAMETERS NOT SUPPORTED (39/00).</summary>
    public static readonly SenseData SavingParametersNotSupported = new(SenseKey.IllegalRequest, 0x39, 0x00);
    /// <summary>ILLEGAL REQUEST, INVALID RELEASE OF PERSISTENT RESERVATION (26/04).</summary>
    public static readonly SenseData InvalidReleaseOfPersistentReservation = new(SenseKey.IllegalRequest, 0x26, 0x04);
    /// <summary>ILLEGAL REQUEST, INSUFFICIENT REGISTRATION RESOURCES (55/04).</summary>
    public static readonly SenseData InsufficientRegistrationResources = new(SenseKey.IllegalRequest, 0x55, 0x04);
    /// <summary>ILLEGAL REQUEST, UNSUPPORTED TARGET DESCRIPTOR TYPE CODE (26/07) for EXTENDED COPY.</summary>
    public static readonly SenseData UnsupportedTargetDescriptorTypeCode = new(SenseKey.IllegalRequest, 0x26, 0x07);
    /// <summary>ILLEGAL REQUEST, UNSUPPORTED SEGMENT DESCRIPTOR TYPE CODE (26/09) for EXTENDED COPY.</summary>
    public static readonly SenseData UnsupportedSegmentDescriptorTypeCode = new(SenseKey.IllegalRequest, 0x26, 0x09);
    /// <summary>ILLEGAL REQUEST, TOO MANY TARGET DESCRIPTORS (26/06).</summary>
    public static readonly SenseData TooManyTargetDescriptors = new(SenseKey.IllegalRequest, 0x26, 0x06);
    /// <summary>ILLEGAL REQUEST, TOO MANY SEGMENT DESCRIPTORS (26/08).</summary>
    public static readonly SenseData TooManySegmentDescriptors = new(SenseKey.IllegalRequest, 0x26, 0x08);
    /// <summary>COPY ABORTED, COPY TARGET DEVICE NOT REACHABLE (0D/02).</summary>
    public static readonly SenseData CopyTargetDeviceNotReachable = new(SenseKey.CopyAborted, 0x0D, 0x02);
    /// <summary>
    /// COPY ABORTED without additional sense (SPC-4 r37 §6.4.3.3): a segment cannot be processed, e.g. it
    /// reaches past a copy target's capacity (libiscsi accepts 00/00, 08/04 or 0D/02 here, not 21/00).
    /// </summary>
    public static readonly SenseData CopyAborted = new(SenseKey.CopyAborted, 0x00, 0x00);
    /// <summary>COPY ABORTED, UNREACHABLE COPY TARGET (08/04): the copy target could not be read or written.</summary>
    public static readonly SenseData CopyAbortedUnreachableCopyTarget = new(SenseKey.CopyAborted, 0x08, 0x04);
    /// <summary>DATA PROTECT, WRITE PROTECTED (27/00).</summary>
    public static readonly SenseData WriteProtected = new(SenseKey.DataProtect, 0x27, 0x00);
    /// <summary>DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT (27/07), SBC-3 r36 §4.7.3.7.</summary>
    public static readonly SenseData SpaceAllocationFailedWriteProtect = new(SenseKey.DataProtect, 0x27, 0x07);
    /// <summary>MEDIUM ERROR, UNRECOVERED READ ERROR (11/00).</summary>
    public static readonly SenseData UnrecoveredReadError = new(SenseKey.MediumError, 0x11, 0x00);
    /// <summary>MEDIUM ERROR, WRITE ERROR (0C/00).</summary>
    public static readonly SenseData WriteError = new(SenseKey.MediumError, 0x0C, 0x00);
    /// <summary>HARDWARE ERROR, INTERNAL TARGET FAILURE (44/00).</summary>
    public static readonly SenseData InternalTargetFailure = new(SenseKey.HardwareError, 0x44, 0x00);
    /// <summary>MISCOMPARE, MISCOMPARE DURING VERIFY OPERATION (1D/00).</summary>
    public static readonly SenseData MiscompareDuringVerify = new(SenseKey.Miscompare, 0x1D, 0x00);
    /// <summary>ABORTED COMMAND, no additional sense (the command was cancelled).</summary>
    public static readonly SenseData CommandAborted = new(SenseKey.AbortedCommand, 0x00, 0x00);
    /// <summary>NOT READY, LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED (04/02).</summary>
    public static readonly SenseData NotReadyInitializingCommandRequired = new(SenseKey.NotReady, 0x04, 0x02);
    /// <summary>
    /// NOT READY, LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE (04/0C), SPC-4 r37 §5.15.2.4.5:
    /// a gateway that lost meta past its lease cannot judge a reserved LU's reservations (DESIGN.md §6).
    /// </summary>
    public static readonly SenseData TargetPortUnavailable = new(SenseKey.NotReady, 0x04, 0x0C);
    /// <summary>NOT READY, MEDIUM NOT PRESENT (3A/00): a removable medium is ejected.</summary>
    public static readonly SenseData MediumNotPresent = new(SenseKey.NotReady, 0x3A, 0x00);
    /// <summary>ILLEGAL REQUEST, MEDIUM REMOVAL PREVENTED (53/02): LOEJ while PREVENT ALLOW MEDIUM REMOVAL is in effect.</summary>
    public static readonly SenseData MediumRemovalPrevented = new(SenseKey.IllegalRequest, 0x53, 0x02);
    /// <summary>UNIT ATTENTION, POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (29/00).</summary>
    public static readonly SenseData PowerOnResetOccurred = new(SenseKey.UnitAttention, 0x29, 0x00);
    /// <summary>UNIT ATTENTION, BUS DEVICE RESET FUNCTION OCCURRED (29/03): after LOGICAL UNIT RESET.</summary>
    public static readonly SenseData BusDeviceResetOccurred = new(SenseKey.UnitAttention, 0x29, 0x03);
    /// <summary>UNIT ATTENTION, I_T NEXUS LOSS OCCURRED (29/07).</summary>
    public static readonly SenseData ITNexusLossOccurred = new(SenseKey.UnitAttention, 0x29, 0x07);
    /// <summary>UNIT ATTENTION, MODE PARAMETERS CHANGED (2A/01).</summary>
    public static readonly SenseData ModeParametersChanged = new(SenseKey.UnitAttention, 0x2A, 0x01);
    /// <summary>UNIT ATTENTION, RESERVATIONS PREEMPTED (2A/03).</summary>
    public static readonly SenseData ReservationsPreempted = new(SenseKey.UnitAttention, 0x2A, 0x03);
    /// <summary>UNIT ATTENTION, RESERVATIONS RELEASED (2A/04).</summary>
    public static readonly SenseData ReservationsReleased = new(SenseKey.UnitAttention, 0x2A, 0x04);
    /// <summary>UNIT ATTENTION, REGISTRATIONS PREEMPTED (2A/05).</summary>
    public static readonly SenseData RegistrationsPreempted = new(SenseKey.UnitAttention, 0x2A, 0x05);
    /// <summary>UNIT ATTENTION, CAPACITY DATA HAS CHANGED (2A/09).</summary>
    public static readonly SenseData CapacityDataChanged = new(SenseKey.UnitAttention, 0x2A, 0x09);
    /// <summary>UNIT ATTENTION, REPORTED LUNS DATA HAS CHANGED (3F/0E).</summary>
    public static readonly SenseData ReportedLunsDataChanged = new(SenseKey.UnitAttention, 0x3F, 0x0E);

    /// <summary>INVALID FIELD IN CDB pointing at CDB byte <paramref name="byteOffset"/> (and bit, when ≥ 0), SPC-4 r37 §4.5.2.4.2.</summary>
    public static SenseData InvalidFieldInCdbAt(int byteOffset, int bit = -1) =>
        InvalidFieldInCdb with
        {
            FieldPointerValid = true,
            FieldPointerInCdb = true,
            FieldPointer = (ushort)byteOffset,
            FieldPointerBitValid = bit >= 0,
            FieldPointerBit = (byte)(bit < 0 ? 0 : bit),
        };

    /// <summary>INVALID FIELD IN PARAMETER LIST pointing at parameter byte <paramref name="byteOffset"/> (and bit, when ≥ 0).</summary>
    public static SenseData InvalidFieldInParameterListAt(int byteOffset, int bit = -1) =>
        InvalidFieldInParameterList with
        {
            FieldPointerValid = true,
            FieldPointerInCdb = false,
            FieldPointer = (ushort)byteOffset,
            FieldPointerBitValid = bit >= 0,
            FieldPointerBit = (byte)(bit < 0 ? 0 : bit),
        };

    /// <summary>MISCOMPARE DURING VERIFY OPERATION with the offset of the first differing byte in INFORMATION (SBC-3 r36 §5.2).</summary>
    public static SenseData MiscompareAt(ulong offset) => MiscompareDuringVerify with { Information = offset, InformationValid = true };
}
