using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Iscsi.Session;

namespace Sds.Gateway.Iscsi;

/// <summary>
/// The iSCSI target of one gateway: the catalog it serves, its sessions and its live
/// connections. Portal listeners (Sds.Gateway.Transport) hand it accepted sockets.
/// </summary>
internal sealed class IscsiTargetServer
{
    private readonly object _lock = new();
    private readonly HashSet<IscsiConnection> _connections = new();
    private bool _stopping;

    /// <summary>Creates the server.</summary>
    public IscsiTargetServer(TargetCatalog catalog, IscsiServerOptions options, ILoggerFactory loggerFactory)
    {
        Catalog = catalog;
        Options = options;
        LoggerFactory = loggerFactory;
    }

    /// <summary>Targets and portals.</summary>
    public TargetCatalog Catalog { get; }
    /// <summary>Timers.</summary>
    public IscsiServerOptions Options { get; }
    /// <summary>Logging.</summary>
    public ILoggerFactory LoggerFactory { get; }
    /// <summary>Live sessions.</summary>
    public SessionRegistry Registry { get; } = new();

    /// <summary>
    /// Ends every connection of every session of <paramref name="targetName"/> (RFC 7143 §11.5.1, TARGET COLD RESET:
    /// on the gateway that ran it, and on every other gateway once meta's record shows it).
    /// </summary>
    public void DropSessionsOf(string targetName)
    {
        foreach (IscsiSession session in Registry.SessionsOf(targetName)) session.Connection?.Abort();
    }

    /// <summary>Number of live connections.</summary>
    public int ConnectionCount
    {
        get { lock (_lock) return _connections.Count; }
    }

    /// <summary>Serves one accepted socket until it closes (never throws).</summary>
    public Task ServeAsync(Socket socket, Portal portal)
    {
        var connection = new IscsiConnection(socket, portal, this);
        lock (_lock)
        {
            if (_stopping || _connections.Count >= IscsiLimits.ConnectionsMax)
            {
                socket.Dispose();
                return Task.CompletedTask;
            }
            _connections.Add(connection);
        }
        return connection.RunAsync();
    }

    /// <summary>Called by a connection once it is cleaned up.</summary>
    public void ConnectionClosed(IscsiConnection connection)
    {
        lock (_lock) _connections.Remove(connection);
    }

    /// <summary>
    /// Completes when every logged-in connection to <paramref name="targetName"/> (other than
    /// <paramref name="joining"/>) whose peer has already gone has finished its cleanup, I_T nexus
    /// loss included (see <see cref="IscsiConnection.IsDeparting"/>).
    /// </summary>
    public Task DepartingConnections(string targetName, IscsiConnection joining)
    {
        List<Task>? departing = null;
        lock (_lock)
        {
            foreach (IscsiConnection connection in _connections)
            {
                if (ReferenceEquals(connection, joining) || connection.Finished.IsCompleted) continue;
                if (connection.Session?.Target is not { } target || !string.Equals(target.Name, targetName, StringComparison.OrdinalIgnoreCase)) continue;
                if (connection.IsDeparting) (departing ??= new List<Task>()).Add(connection.Finished);
            }
        }
        return departing is null ? Task.CompletedTask : Task.WhenAll(departing);
    }

    /// <summary>
    /// A text dump of every live connection, its session window and its tasks (diagnostics: <c>sds
    /// server</c> logs it on SIGQUIT, so a stalled initiator can be compared with the target's view).
    /// </summary>
    public string DescribeState()
    {
        List<IscsiConnection> connections;
        lock (_lock) connections = new List<IscsiConnection>(_connections);
        var text = new System.Text.StringBuilder();
        text.Append($"{connections.Count} connections, {Registry.Count} sessions\n");
        foreach (IscsiConnection connection in connections) connection.Describe(text);
        return text.ToString();
    }

    /// <summary>
    /// Clean shutdown: ask every initiator to log out (Async Message event 1, RFC 7143 §11.9.1),
    /// give them <see cref="IscsiServerOptions.ShutdownLogoutGrace"/>, then drop what is left.
    /// </summary>
    public async Task StopAsync()
    {
        List<IscsiConnection> connections;
        lock (_lock)
        {
            _stopping = true;
            connections = new List<IscsiConnection>(_connections);
        }
        int seconds = (int)Math.Ceiling(Options.ShutdownLogoutGrace.TotalSeconds);
        foreach (IscsiConnection connection in connections) await connection.RequestLogoutAsync(seconds).ConfigureAwait(false);
        var finished = new List<Task>();
        foreach (IscsiConnection connection in connections) finished.Add(connection.Finished);
        try
        {
            await Task.WhenAll(finished).WaitAsync(Options.ShutdownLogoutGrace, Options.TimeProvider).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        foreach (IscsiConnection connection in connections) connection.Abort();
        try
        {
            await Task.WhenAll(finished).WaitAsync(Options.DrainTimeout, Options.TimeProvider).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }
}
