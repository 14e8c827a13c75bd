namespace Grpc.Core;

/// <summary>Options of one client call: headers, deadline, cancellation, write options, propagation, credentials.</summary>
public readonly struct CallOptions
{
    /// <summary>Creates call options.</summary>
    public CallOptions(
        Metadata? headers = null,
        DateTime? deadline = null,
        CancellationToken cancellationToken = default,
        WriteOptions? writeOptions = null,
        ContextPropagationToken? propagationToken = null,
        CallCredentials? credentials = null)
    {
        Headers = headers;
        Deadline = deadline;
        CancellationToken = cancellationToken;
        WriteOptions = writeOptions;
        PropagationToken = propagationToken;
        Credentials = credentials;
        IsWaitForReady = false;
    }

    private CallOptions(in CallOptions other, bool waitForReady)
    {
        this = other;
        IsWaitForReady = waitForReady;
    }

    /// <summary>Request headers (custom metadata).</summary>
    public Metadata? Headers { get; init; }

    /// <summary>Deadline of the call (UTC); null means none.</summary>
    public DateTime? Deadline { get; init; }

    /// <summary>Cancels the call (the transport resets the HTTP/2 stream).</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Default write options of the call's request stream.</summary>
    public WriteOptions? WriteOptions { get; init; }

    /// <summary>Deadline and cancellation inherited from a server call.</summary>
    public ContextPropagationToken? PropagationToken { get; init; }

    /// <summary>Per-call credentials.</summary>
    public CallCredentials? Credentials { get; init; }

    /// <summary>Wait-for-ready semantics; this transport keeps it as a flag only.</summary>
    public bool IsWaitForReady { get; }

    /// <summary>Copy with other headers.</summary>
    public CallOptions WithHeaders(Metadata headers) => this with { Headers = headers };

    /// <summary>Copy with another deadline.</summary>
    public CallOptions WithDeadline(DateTime deadline) => this with { Deadline = deadline };

    /// <summary>Copy with another cancellation token.</summary>
    public CallOptions WithCancellationToken(CancellationToken cancellationToken) => this with { CancellationToken = cancellationToken };

    /// <summary>Copy with other write options.</summary>
    public CallOptions WithWriteOptions(WriteOptions writeOptions) => this with { WriteOptions = writeOptions };

    /// <summary>Copy with another propagation token.</summary>
    public CallOptions WithPropagationToken(ContextPropagationToken propagationToken) => this with { PropagationToken = propagationToken };

    /// <summary>Copy with other credentials.</summary>
    public CallOptions WithCredentials(CallCredentials credentials) => this with { Credentials = credentials };

    /// <summary>Copy with wait-for-ready set.</summary>
    public CallOptions WithWaitForReady(bool waitForReady = true) => new(this, waitForReady);
}
