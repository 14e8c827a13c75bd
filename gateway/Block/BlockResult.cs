namespace Sds.Gateway.Block;

/// <summary>
/// Outcome of one block-device operation. Devices never throw for I/O faults: the OS or cluster
/// error is caught once at the device edge and becomes one of these values, which the SCSI layer
/// maps to sense (tgt's <c>set_medium_error</c>).
/// </summary>
internal enum BlockResult : byte
{
    /// <summary>The operation completed.</summary>
    Ok = 0,
    /// <summary>The medium could not return or store the data (SBC-3: MEDIUM ERROR, UNRECOVERED READ/WRITE ERROR).</summary>
    MediumError,
    /// <summary>The device failed for a reason not tied to the data (SBC-3: HARDWARE ERROR).</summary>
    HardwareError,
    /// <summary>Thin provisioning could not allocate space (SBC-3 §4.7.3.7: SPACE ALLOCATION FAILED WRITE PROTECT).</summary>
    NoSpace,
    /// <summary>The byte range does not lie inside the device.</summary>
    OutOfRange,
    /// <summary>COMPARE AND WRITE found different data; nothing was written.</summary>
    Miscompare,
    /// <summary>The device does not implement the operation.</summary>
    NotSupported,
    /// <summary>The operation was cancelled before it took effect.</summary>
    Cancelled,
    /// <summary>
    /// The backing cluster could not complete the operation within the command's time budget (no PG leader
    /// reachable); the outcome of a write is unknown. Transient: the initiator should retry (ABORTED COMMAND).
    /// </summary>
    Unavailable,
    /// <summary>
    /// The range is valid but the device cannot perform this operation on it as one atomic unit (a COMPARE AND
    /// WRITE that would span two placement groups); ILLEGAL REQUEST, INVALID FIELD IN CDB.
    /// </summary>
    NotAtomicRange,
}
