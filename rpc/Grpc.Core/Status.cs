namespace Grpc.Core;

/// <summary>The outcome of a call: a code and a human-readable detail.</summary>
public readonly struct Status
{
    /// <summary>Status of a successful call.</summary>
    public static readonly Status DefaultSuccess = new(StatusCode.OK, "");

    /// <summary>Status of a call cancelled by its caller.</summary>
    public static readonly Status DefaultCancelled = new(StatusCode.Cancelled, "");

    /// <summary>Creates a status.</summary>
    public Status(StatusCode statusCode, string detail) : this(statusCode, detail, null)
    {
    }

    /// <summary>Creates a status that keeps the local exception for debugging; it never goes on the wire.</summary>
    public Status(StatusCode statusCode, string detail, Exception? debugException)
    {
        StatusCode = statusCode;
        Detail = detail ?? "";
        DebugException = debugException;
    }

    /// <summary>The status code.</summary>
    public StatusCode StatusCode { get; }

    /// <summary>The detail message (wire field grpc-message).</summary>
    public string Detail { get; }

    /// <summary>A local exception behind this status, for logs only.</summary>
    public Exception? DebugException { get; }

    /// <inheritdoc />
    public override string ToString() => DebugException is null
        ? $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\")"
        : $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\", DebugException=\"{DebugException.GetType()}: {DebugException.Message}\")";
}
