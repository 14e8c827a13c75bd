namespace Sds.Storage.RocksDb;

/// <summary>
/// What went wrong in a RocksDB call, classified from the C API's error string (the C API
/// reports a <c>Status::ToString()</c> message, never a code).
/// </summary>
internal enum RocksDbErrorKind
{
    /// <summary>The call succeeded.</summary>
    None = 0,
    /// <summary>"NotFound:" (for example a missing database without create_if_missing).</summary>
    NotFound,
    /// <summary>"Corruption:" — on-disk data failed RocksDB's own checks.</summary>
    Corruption,
    /// <summary>"Invalid argument:" — bad options, unknown column family, existing DB with error_if_exists.</summary>
    InvalidArgument,
    /// <summary>"IO error:" with the LOCK file named: another open handle owns the directory.</summary>
    Locked,
    /// <summary>"IO error:" caused by ENOSPC; the database turns read-only until space is freed.</summary>
    NoSpace,
    /// <summary>Any other "IO error:" (permissions, missing parent directory, EIO).</summary>
    IoError,
    /// <summary>"Not implemented:" — the build lacks a feature (for example a compression library).</summary>
    NotSupported,
    /// <summary>"Busy:", "Try again:", "Operation timed out:" and similar transient conditions.</summary>
    Busy,
    /// <summary>Any message this binding does not classify.</summary>
    Other,
}
