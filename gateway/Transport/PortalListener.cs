using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sds.Gateway.Iscsi;
using Sds.Gateway.Iscsi.Catalog;

namespace Sds.Gateway.Transport;

/// <summary>
/// The TCP side of one iSCSI portal: binds, accepts (TCP_NODELAY on every connection, since
/// iSCSI is request/response) and hands each socket to the <see cref="IscsiTargetServer"/>.
/// </summary>
internal sealed class PortalListener : IAsyncDisposable
{
    /// <summary>Pending connections the kernel may queue.</summary>
    public const int BacklogConnections = 128;

    private readonly Portal _portal;
    private readonly IscsiTargetServer _server;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private Task _acceptLoop = Task.CompletedTask;
    private bool _started;

    private PortalListener(Portal portal, IscsiTargetServer server, Socket socket)
    {
        _portal = portal;
        _server = server;
        _socket = socket;
        _logger = server.LoggerFactory.CreateLogger<PortalListener>();
    }

    /// <summary>The portal served.</summary>
    public Portal Portal => _portal;

    /// <summary>
    /// Binds the portal (call <see cref="Start"/> to accept). Returns null with <paramref name="error"/> set when the address is busy or
    /// unusable (an operating error, reported to the user, not thrown).
    /// </summary>
    public static PortalListener? TryStart(Portal portal, IscsiTargetServer server, out string? error)
    {
        var socket = new Socket(portal.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(portal.EndPoint);
            socket.Listen(BacklogConnections);
        }
        catch (SocketException exception)
        {
            socket.Dispose();
            error = exception.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? $"portal {portal.EndPoint} is already in use"
                : $"cannot listen on {portal.EndPoint}: {exception.Message}";
            return null;
        }
        error = null;
        return new PortalListener(portal, server, socket);
    }

    /// <summary>Starts accepting connections (separate from binding, so a server binds every portal before serving any).</summary>
    public void Start()
    {
        Invariant.Assert(_acceptLoop.IsCompleted && !_started, "a listener starts once");
        _started = true;
        _acceptLoop = AcceptLoopAsync();
    }

    private async Task AcceptLoopAsync()
    {
        _logger.LogInformation("iSCSI portal listening on {EndPoint} (TPGT {Tpgt})", _portal.EndPoint, _portal.PortalGroupTag);
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException exception)
            {
                _logger.LogWarning("accept on {EndPoint} failed: {Error}", _portal.EndPoint, exception.SocketErrorCode);
                continue;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            client.NoDelay = true;
            _ = _server.ServeAsync(client, _portal);
        }
    }

    /// <summary>Stops accepting (existing connections are the server's to close).</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _socket.Dispose();
        await _acceptLoop.ConfigureAwait(false);
    }
}
