namespace Sds.Storage.Chunks;

/// <summary>
/// The outcome of a chunk store operation. Operating errors are values; the gateway maps them to
/// sense data (for example <see cref="Corrupt"/> to MEDIUM ERROR after a failed repair,
/// <see cref="NoSpace"/> to SPACE ALLOCATION FAILED WRITE PROTECT).
/// </summary>
internal enum ChunkStatus
{
    /// <summary>Done.</summary>
    Ok = 0,
    /// <summary>The range is empty, not block aligned, or leaves the chunk; nothing was touched.</summary>
    InvalidRange,
    /// <summary>A buffer's length does not match the request (for example a WRITE SAME pattern that is not one block).</summary>
    InvalidBuffer,
    /// <summary>One or more blocks failed their CRC32C; the result names them so a replica can repair them.</summary>
    Corrupt,
    /// <summary>COMPARE AND WRITE found different data; nothing was written.</summary>
    Miscompare,
    /// <summary>The device is full; nothing of this request was acknowledged or applied.</summary>
    NoSpace,
    /// <summary>Any other error from the operating system or RocksDB (EIO, permissions).</summary>
    IoError,
    /// <summary>The store was disposed.</summary>
    Closed,
    /// <summary>The store directory is in use by another store, or was created with a different geometry.</summary>
    Unavailable,
}
