using System.Net.Security;

namespace Sds.Rpc;

/// <summary>Options of a <see cref="GrpcChannel"/>.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>Largest message this client sends, in bytes; larger ones fail with RESOURCE_EXHAUSTED before sending. Null means no limit.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>Largest message this client accepts, in bytes (default 4 MiB); larger ones fail the call with RESOURCE_EXHAUSTED.</summary>
    public int? MaxReceiveMessageSize { get; set; } = Framing.GrpcFrame.DefaultMaxReceiveMessageSizeBytes;

    /// <summary>
    /// A handler to use instead of the channel's own <see cref="SocketsHttpHandler"/>. The channel then does not
    /// own it and never disposes it.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    /// <summary>A token sent as <c>authorization: Bearer …</c> on every call (cluster-internal auth).</summary>
    public string? BearerToken { get; set; }

    /// <summary>Open more HTTP/2 connections when one reaches the server's stream limit (default on).</summary>
    public bool EnableMultipleHttp2Connections { get; set; } = true;

    /// <summary>Time allowed to open a connection before a call fails with UNAVAILABLE.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Idle time after which the client pings a connection that has calls in flight; a peer that does not answer
    /// within <see cref="KeepAlivePingTimeout"/> is dropped, so a vanished server cannot hang a stream forever.
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a keep-alive ping may go unanswered.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Server certificate check for https addresses; null means the platform's default validation.</summary>
    public RemoteCertificateValidationCallback? RemoteCertificateValidationCallback { get; set; }

    /// <summary>Clock for deadlines; tests may inject another.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
