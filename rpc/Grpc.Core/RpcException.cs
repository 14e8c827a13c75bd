namespace Grpc.Core;

/// <summary>
/// A call that ended with a non-OK status. It exists only at the transport edge: stubs throw it to
/// callers, and handlers may throw it to choose the status they return.
/// </summary>
public class RpcException : Exception
{
    /// <summary>Creates the exception from a status.</summary>
    public RpcException(Status status) : this(status, Metadata.Empty, status.ToString())
    {
    }

    /// <summary>Creates the exception with a custom message.</summary>
    public RpcException(Status status, string message) : this(status, Metadata.Empty, message)
    {
    }

    /// <summary>Creates the exception with trailers.</summary>
    public RpcException(Status status, Metadata trailers) : this(status, trailers, status.ToString())
    {
    }

    /// <summary>Creates the exception with trailers and a custom message.</summary>
    public RpcException(Status status, Metadata trailers, string message) : base(message, status.DebugException)
    {
        Status = status;
        Trailers = trailers ?? Metadata.Empty;
    }

    /// <summary>The status of the call.</summary>
    public Status Status { get; }

    /// <summary>Shortcut for <c>Status.StatusCode</c>.</summary>
    public StatusCode StatusCode => Status.StatusCode;

    /// <summary>Trailers the peer sent with the status.</summary>
    public Metadata Trailers { get; }
}
