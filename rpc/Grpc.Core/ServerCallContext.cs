namespace Grpc.Core;

/// <summary>What a server handler knows about its call, and how it sets headers, trailers and status.</summary>
public abstract class ServerCallContext
{
    private Dictionary<object, object>? userState;

    /// <summary>The method's :path (<c>/sds.v1.Storage/Io</c>).</summary>
    public string Method => MethodCore;

    /// <summary>The :authority the client called.</summary>
    public string Host => HostCore;

    /// <summary>The peer address, e.g. <c>ipv4:127.0.0.1:53012</c>.</summary>
    public string Peer => PeerCore;

    /// <summary>The call's deadline (UTC); <see cref="DateTime.MaxValue"/> when none.</summary>
    public DateTime Deadline => DeadlineCore;

    /// <summary>The request headers.</summary>
    public Metadata RequestHeaders => RequestHeadersCore;

    /// <summary>Fires when the client cancels, the deadline passes or the connection drops.</summary>
    public CancellationToken CancellationToken => CancellationTokenCore;

    /// <summary>Trailers sent with the status.</summary>
    public Metadata ResponseTrailers => ResponseTrailersCore;

    /// <summary>The status the call ends with when the handler returns normally.</summary>
    public Status Status
    {
        get => StatusCore;
        set => StatusCore = value;
    }

    /// <summary>Default write options of the response stream.</summary>
    public WriteOptions? WriteOptions
    {
        get => WriteOptionsCore;
        set => WriteOptionsCore = value;
    }

    /// <summary>The peer's identity.</summary>
    public AuthContext AuthContext => AuthContextCore;

    /// <summary>Per-call state for interceptors and handlers.</summary>
    public IDictionary<object, object> UserState => UserStateCore;

    /// <summary>Sends the response headers now; at most once, and before the first message.</summary>
    public Task WriteResponseHeadersAsync(Metadata responseHeaders) => WriteResponseHeadersAsyncCore(responseHeaders);

    /// <summary>A token that passes this call's deadline and cancellation to client calls it makes.</summary>
    public ContextPropagationToken CreatePropagationToken(ContextPropagationOptions? options = null) => CreatePropagationTokenCore(options);

    /// <summary>Derived: see <see cref="Method"/>.</summary>
    protected abstract string MethodCore { get; }

    /// <summary>Derived: see <see cref="Host"/>.</summary>
    protected abstract string HostCore { get; }

    /// <summary>Derived: see <see cref="Peer"/>.</summary>
    protected abstract string PeerCore { get; }

    /// <summary>Derived: see <see cref="Deadline"/>.</summary>
    protected abstract DateTime DeadlineCore { get; }

    /// <summary>Derived: see <see cref="RequestHeaders"/>.</summary>
    protected abstract Metadata RequestHeadersCore { get; }

    /// <summary>Derived: see <see cref="CancellationToken"/>.</summary>
    protected abstract CancellationToken CancellationTokenCore { get; }

    /// <summary>Derived: see <see cref="ResponseTrailers"/>.</summary>
    protected abstract Metadata ResponseTrailersCore { get; }

    /// <summary>Derived: see <see cref="Status"/>.</summary>
    protected abstract Status StatusCore { get; set; }

    /// <summary>Derived: see <see cref="WriteOptions"/>.</summary>
    protected abstract WriteOptions? WriteOptionsCore { get; set; }

    /// <summary>Derived: see <see cref="AuthContext"/>.</summary>
    protected abstract AuthContext AuthContextCore { get; }

    /// <summary>Derived: see <see cref="UserState"/>.</summary>
    protected virtual IDictionary<object, object> UserStateCore => userState ??= [];

    /// <summary>Derived: see <see cref="WriteResponseHeadersAsync"/>.</summary>
    protected abstract Task WriteResponseHeadersAsyncCore(Metadata responseHeaders);

    /// <summary>Derived: see <see cref="CreatePropagationToken"/>.</summary>
    protected abstract ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options);
}
