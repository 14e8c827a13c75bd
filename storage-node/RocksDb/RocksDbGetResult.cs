namespace Sds.Storage.RocksDb;

/// <summary>
/// The outcome of a point read into a caller's buffer. <see cref="ValueLengthBytes"/> is the full
/// stored length even when the buffer was too small, so the caller can tell truncation apart.
/// </summary>
internal readonly struct RocksDbGetResult
{
    /// <summary>Creates a result.</summary>
    public RocksDbGetResult(RocksDbStatus status, bool found, int valueLengthBytes)
    {
        Invariant.Assert(found || valueLengthBytes == 0, "a missing key has no value");
        Status = status;
        Found = found;
        ValueLengthBytes = valueLengthBytes;
    }

    /// <summary>Whether the read itself succeeded.</summary>
    public RocksDbStatus Status { get; }

    /// <summary>Whether the key exists.</summary>
    public bool Found { get; }

    /// <summary>The stored value's length; bytes beyond the buffer were not copied.</summary>
    public int ValueLengthBytes { get; }
}
