using System.Security.Cryptography.X509Certificates;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Sds.Rpc;

/// <summary>Options of a <see cref="GrpcServer"/>.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>
    /// Where to listen, as <c>host:port</c> (<c>127.0.0.1:7070</c>, <c>[::1]:7070</c>, <c>localhost:7070</c>,
    /// <c>0.0.0.0:7070</c>). Port 0 picks a free port; read the bound addresses from <see cref="GrpcServer.Addresses"/>.
    /// Every endpoint speaks HTTP/2 only: h2c with prior knowledge, or TLS with ALPN h2 when <see cref="Certificate"/> is set.
    /// </summary>
    public IList<string> Endpoints { get; } = new List<string>();

    /// <summary>Server certificate; when set, every endpoint is TLS.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Largest request message accepted, in bytes (default 4 MiB); larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = Framing.GrpcFrame.DefaultMaxReceiveMessageSizeBytes;

    /// <summary>Largest response message sent, in bytes; larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxSendMessageSize { get; set; } = int.MaxValue;

    /// <summary>Server interceptors applied to every added service, first = outermost. Health and reflection are not intercepted.</summary>
    public IList<Interceptor> Interceptors { get; } = new List<Interceptor>();

    /// <summary>When set, every added service requires <c>authorization: Bearer &lt;token&gt;</c> (see <see cref="BearerTokenInterceptor"/>).</summary>
    public string? BearerToken { get; set; }

    /// <summary>Put exception type and message in INTERNAL statuses (never stack traces). For development only.</summary>
    public bool EnableDetailedErrors { get; set; }

    /// <summary>
    /// Concurrent streams one HTTP/2 connection may carry; clients open more connections beyond it. At least 100:
    /// RFC 9113 §6.5.2 lets a client assume 100 until our SETTINGS frame arrives, so a lower limit would refuse
    /// streams a fresh client opened in good faith.
    /// </summary>
    public int MaxConcurrentStreamsPerConnection
    {
        get => maxConcurrentStreamsPerConnection;
        set => maxConcurrentStreamsPerConnection = value >= MinConcurrentStreams ? value : throw new ArgumentOutOfRangeException(nameof(value), $"At least {MinConcurrentStreams}.");
    }

    private const int MinConcurrentStreams = 100;
    private int maxConcurrentStreamsPerConnection = 256;

    /// <summary>
    /// Idle time after which the server pings a client connection; a client that does not answer within
    /// <see cref="KeepAlivePingTimeout"/> is dropped and its calls' tokens fire. Without it, a client that
    /// vanished without closing its socket (power loss, partition) would hold its streams open forever.
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a keep-alive ping may go unanswered.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a graceful stop waits for calls in flight before cutting connections.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Where the server and Kestrel log; null means nowhere.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Clock for deadlines.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
