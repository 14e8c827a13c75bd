using System.Runtime.InteropServices;

namespace Sds.Storage.RocksDb;

/// <summary>
/// The outcome of a RocksDB call as a value: the C API's <c>char** errptr</c> turned into a kind
/// and the original message. Success carries no message and allocates nothing.
/// </summary>
internal readonly struct RocksDbStatus
{
    /// <summary>The success value.</summary>
    public static readonly RocksDbStatus Ok = default;

    private RocksDbStatus(RocksDbErrorKind kind, string message)
    {
        Kind = kind;
        Message = message;
    }

    /// <summary>What kind of failure this is; <see cref="RocksDbErrorKind.None"/> on success.</summary>
    public RocksDbErrorKind Kind { get; }

    /// <summary>RocksDB's message, for logs and operators; null on success.</summary>
    public string? Message { get; }

    /// <summary>True when the call succeeded.</summary>
    public bool IsOk => Kind == RocksDbErrorKind.None;

    /// <summary>A failure built by this binding (not by RocksDB), such as a closed handle.</summary>
    public static RocksDbStatus Failure(RocksDbErrorKind kind, string message)
    {
        Invariant.Assert(kind != RocksDbErrorKind.None, "a failure needs a kind");
        return new RocksDbStatus(kind, message);
    }

    /// <summary>
    /// Takes ownership of a C API error string: copies and classifies it, then frees it with
    /// <c>rocksdb_free</c> (it was malloc()ed by RocksDB, so only RocksDB's allocator may free it).
    /// </summary>
    public static RocksDbStatus FromError(nint error)
    {
        if (error == 0)
        {
            return Ok;
        }

        string message = Marshal.PtrToStringUTF8(error) ?? "unknown RocksDB error";
        RocksDbNative.rocksdb_free(error);
        return new RocksDbStatus(Classify(message), message);
    }

    /// <summary>Maps RocksDB's <c>Status::ToString()</c> prefixes to a kind.</summary>
    internal static RocksDbErrorKind Classify(string message)
    {
        if (message.StartsWith("IO error", StringComparison.Ordinal))
        {
            if (message.Contains("No space left", StringComparison.OrdinalIgnoreCase))
            {
                return RocksDbErrorKind.NoSpace;
            }

            // PosixEnv reports both an fcntl lock held by another process ("While lock file") and
            // one held by this process ("lock hold by current process") against the LOCK file.
            return message.Contains("lock", StringComparison.OrdinalIgnoreCase)
                ? RocksDbErrorKind.Locked
                : RocksDbErrorKind.IoError;
        }

        if (message.StartsWith("NotFound", StringComparison.Ordinal))
        {
            return RocksDbErrorKind.NotFound;
        }

        if (message.StartsWith("Corruption", StringComparison.Ordinal))
        {
            return RocksDbErrorKind.Corruption;
        }

        if (message.StartsWith("Invalid argument", StringComparison.Ordinal))
        {
            return RocksDbErrorKind.InvalidArgument;
        }

        if (message.StartsWith("Not implemented", StringComparison.Ordinal))
        {
            return RocksDbErrorKind.NotSupported;
        }

        if (message.StartsWith("Busy", StringComparison.Ordinal)
            || message.StartsWith("Try again", StringComparison.Ordinal)
            || message.StartsWith("Operation timed out", StringComparison.Ordinal))
        {
            return RocksDbErrorKind.Busy;
        }

        return RocksDbErrorKind.Other;
    }

    /// <inheritdoc />
    public override string ToString() => IsOk ? "OK" : $"{Kind}: {Message}";
}
