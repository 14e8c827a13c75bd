using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Sds.Gateway.Iscsi;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Transport;

namespace Sds.Cli;

/// <summary>
/// What every daemon role (<c>sds server</c>, <c>sds gateway</c>, <c>sds storage</c>) does around its own work: one
/// console logger setup, SIGINT/SIGTERM turned into <see cref="Stopping"/> (registered before any socket is bound:
/// the kernel accepts on a bound, listening socket, so a client may see the port and signal at once), binding the
/// iSCSI portals with one error line for a busy one, and the serve-until-signal-then-shut-down sequence.
/// </summary>
internal sealed class RoleHost : IDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly PosixSignalRegistration sigint;
    private readonly PosixSignalRegistration sigterm;

    /// <summary>Starts listening for SIGINT and SIGTERM.</summary>
    public RoleHost()
    {
        sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Cancelled by SIGINT or SIGTERM.</summary>
    public CancellationToken Stopping => stop.Token;

    /// <summary>Single-line console logs with milliseconds; SDS_LOG_DEBUG=1 turns on debug logs.</summary>
    public static ILoggerFactory CreateLoggerFactory() => LoggerFactory.Create(builder => builder
        .AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.TimestampFormat = "HH:mm:ss.fff ";
        })
        .SetMinimumLevel(Environment.GetEnvironmentVariable("SDS_LOG_DEBUG") == "1" ? LogLevel.Debug : LogLevel.Information)
        .AddFilter("Microsoft", LogLevel.Warning));

    /// <summary>
    /// Binds every portal (listening, not yet accepting); on the first that cannot bind prints
    /// "<paramref name="role"/>: why" on stderr, releases the ones bound and returns null.
    /// </summary>
    public static async Task<List<PortalListener>?> BindPortalsAsync(IEnumerable<Portal> portals, IscsiTargetServer server, string role)
    {
        var listeners = new List<PortalListener>();
        foreach (Portal portal in portals)
        {
            PortalListener? listener = PortalListener.TryStart(portal, server, out string? error);
            if (listener is null)
            {
                Console.Error.WriteLine($"{role}: {error}");
                await CloseAsync(listeners);
                return null;
            }

            listeners.Add(listener);
        }

        return listeners;
    }

    /// <summary>Closes bound portals (a start that failed after binding them).</summary>
    public static async Task CloseAsync(List<PortalListener> listeners)
    {
        foreach (PortalListener listener in listeners) await listener.DisposeAsync();
        listeners.Clear();
    }

    /// <summary>
    /// Accepts on <paramref name="listeners"/> until SIGINT/SIGTERM, then closes them and stops
    /// <paramref name="server"/> (every session ends). The caller then stops what the target server used.
    /// </summary>
    public async Task ServeAsync(List<PortalListener> listeners, IscsiTargetServer server, ILogger logger, string ready)
    {
        foreach (PortalListener listener in listeners) listener.Start();
        logger.LogInformation("{Ready}", ready);
        await WaitAsync();
        logger.LogInformation("shutting down");
        await CloseAsync(listeners);
        await server.StopAsync();
    }

    /// <summary>Returns when SIGINT or SIGTERM arrives.</summary>
    public async Task WaitAsync()
    {
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        sigint.Dispose();
        sigterm.Dispose();
        stop.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        stop.Cancel();
    }
}
