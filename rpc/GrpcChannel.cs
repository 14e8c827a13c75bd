using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;
using Sds.Rpc.Client;

namespace Sds.Rpc;

/// <summary>
/// A gRPC channel to one address over HTTP/2: h2c with prior knowledge for <c>http://</c>, TLS with ALPN h2 for
/// <c>https://</c>. Connections are pooled and reused by every call; more are opened when one is full.
/// Create one per peer and share it; dispose it at shutdown.
/// </summary>
public sealed class GrpcChannel : ChannelBase, IDisposable
{
    private readonly ConcurrentDictionary<string, Uri> methodUris = new(StringComparer.Ordinal);
    private readonly HttpCallInvoker callInvoker;
    private readonly bool ownsHandler;
    private readonly HttpMessageHandler handler;
    private int disposed;

    private GrpcChannel(Uri address, GrpcChannelOptions options) : base(address.Authority)
    {
        Address = address;
        MaxSendMessageBytes = options.MaxSendMessageSize ?? int.MaxValue;
        MaxReceiveMessageBytes = options.MaxReceiveMessageSize ?? int.MaxValue;
        TimeProvider = options.TimeProvider;
        Authorization = options.BearerToken is null ? null : "Bearer " + options.BearerToken;
        if (options.HttpHandler is not null)
        {
            handler = options.HttpHandler;
            ownsHandler = false;
        }
        else
        {
            handler = CreateHandler(options);
            ownsHandler = true;
        }

        // HttpMessageInvoker, not HttpClient: no buffering, no timeout of its own; deadlines are ours.
        Http = new HttpMessageInvoker(handler, disposeHandler: false);
        callInvoker = new HttpCallInvoker(this);
    }

    /// <summary>The base address, e.g. <c>http://127.0.0.1:7070/</c>.</summary>
    public Uri Address { get; }

    internal HttpMessageInvoker Http { get; }

    internal int MaxSendMessageBytes { get; }

    internal int MaxReceiveMessageBytes { get; }

    internal TimeProvider TimeProvider { get; }

    internal string? Authorization { get; }

    internal static readonly ProductInfoHeaderValue UserAgent = new("sds-rpc", "1.0");

    /// <summary>Creates a channel. <paramref name="address"/> is <c>http://host:port</c>, <c>https://host:port</c> or bare <c>host:port</c> (h2c).</summary>
    public static GrpcChannel ForAddress(string address, GrpcChannelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        if (!address.Contains("://", StringComparison.Ordinal))
        {
            address = "http://" + address;
        }

        return ForAddress(new Uri(address), options);
    }

    /// <summary>Creates a channel for an http or https URI.</summary>
    public static GrpcChannel ForAddress(Uri address, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException("A gRPC address is http:// (h2c) or https:// (TLS).", nameof(address));
        }

        return new GrpcChannel(new Uri(address.GetLeftPart(UriPartial.Authority) + "/"), options ?? new GrpcChannelOptions());
    }

    /// <inheritdoc />
    public override CallInvoker CreateCallInvoker() => callInvoker;

    /// <summary>The absolute URI of a method's :path, built once per method.</summary>
    internal Uri MethodUri(string fullName) => methodUris.GetOrAdd(fullName, static (name, baseUri) => new Uri(baseUri, name), Address);

    /// <summary>Closes every connection; calls in flight end with UNAVAILABLE or CANCELLED.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        Http.Dispose();
        if (ownsHandler)
        {
            handler.Dispose();
        }
    }

    /// <inheritdoc />
    protected override Task ShutdownAsyncCore()
    {
        Dispose();
        return Task.CompletedTask;
    }

    private static SocketsHttpHandler CreateHandler(GrpcChannelOptions options)
    {
        var socketsHandler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = options.EnableMultipleHttp2Connections,
            ConnectTimeout = options.ConnectTimeout,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            // We inject traceparent ourselves from the call's span; the handler's own propagator would add a second one.
            ActivityHeadersPropagator = null,
        };
        if (options.RemoteCertificateValidationCallback is not null)
        {
            socketsHandler.SslOptions.RemoteCertificateValidationCallback = options.RemoteCertificateValidationCallback;
        }

        return socketsHandler;
    }
}
