using Grpc.Core;
using Microsoft.Extensions.Logging;
using Sds.Meta.Client;
using Sds.Proto.V1;

namespace Sds.Cli;

/// <summary>
/// A gateway's membership in the cluster (DESIGN.md §4, §6): registers with meta as a gateway node (its iSCSI
/// portal; meta assigns the stable target port group and relative target port ids), heartbeats at the interval
/// meta asks for (registering again when meta says it does not know the node), and follows the cluster map,
/// raising <see cref="MapChanged"/> with each new version. Meta members are reached through
/// <see cref="MetaClient"/>, which follows the leader and fails over between members.
/// </summary>
/// <remarks>
/// The map is read with GetClusterMap every <see cref="MapPollInterval"/> until the watch-backed
/// ClusterMapMirror (meta/Client) is on this branch; the consumer only sees versions, so the swap is local.
/// </remarks>
internal sealed class GatewayMembership : IAsyncDisposable
{
    /// <summary>How often the map is read while it is polled.</summary>
    public static readonly TimeSpan MapPollInterval = TimeSpan.FromMilliseconds(500);

    private readonly MetaClient meta;
    private readonly RegisterNodeRequest registration;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stopping = new();
    private Task heartbeats = Task.CompletedTask;
    private Task mapLoop = Task.CompletedTask;
    private TimeSpan heartbeatInterval = TimeSpan.FromSeconds(1);
    private ulong sequence;
    private long appliedVersion;

    private GatewayMembership(MetaClient meta, RegisterNodeRequest registration, ILogger logger)
    {
        this.meta = meta;
        this.registration = registration;
        this.logger = logger;
    }

    /// <summary>This gateway as meta recorded it (ids assigned by meta).</summary>
    public Node Node { get; private set; } = new();

    /// <summary>Raised on the map loop with every map whose version is newer than the last one.</summary>
    public event Func<ClusterMap, Task>? MapChanged;

    /// <summary>The highest map version applied by the consumer (reported in heartbeats, DESIGN.md §6).</summary>
    public ulong AppliedVersion
    {
        get => (ulong)Interlocked.Read(ref appliedVersion);
        set => Interlocked.Exchange(ref appliedVersion, (long)value);
    }

    /// <summary>Registers (retrying until <paramref name="cancellationToken"/>) and returns the membership; null if cancelled.</summary>
    public static async Task<GatewayMembership?> RegisterAsync(IReadOnlyList<string> metaAddresses, string nodeId, string iscsiPortal, ILogger logger, CancellationToken cancellationToken)
    {
        var registration = new RegisterNodeRequest { NodeId = nodeId, IscsiPortal = iscsiPortal, Version = "0.1" };
        registration.Roles.Add(NodeRole.Gateway);
        var membership = new GatewayMembership(new MetaClient(metaAddresses) { Timeout = TimeSpan.FromSeconds(10) }, registration, logger);
        while (!cancellationToken.IsCancellationRequested)
        {
            if (await membership.TryRegisterAsync(cancellationToken))
            {
                return membership;
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await membership.DisposeAsync();
        return null;
    }

    /// <summary>Starts heartbeats and map following.</summary>
    public void Start()
    {
        heartbeats = Task.Run(HeartbeatLoopAsync);
        mapLoop = Task.Run(MapLoopAsync);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        try
        {
            await Task.WhenAll(heartbeats, mapLoop);
        }
        catch (OperationCanceledException)
        {
        }

        meta.Dispose();
        stopping.Dispose();
    }

    private async Task<bool> TryRegisterAsync(CancellationToken cancellationToken)
    {
        try
        {
            RegisterNodeResponse response = await meta.ClusterAsync((c, h, d, t) => c.RegisterNodeAsync(registration, h, d, t), cancellationToken);
            Node = response.Node;
            heartbeatInterval = TimeSpan.FromMilliseconds(Math.Clamp(response.HeartbeatIntervalMs, 100, 10_000));
            logger.LogInformation("registered with meta as gateway {Node}: target port group {Group}, relative target port {Port}",
                Node.Id, Node.TargetPortGroupId, Node.RelativeTargetPortId);
            return true;
        }
        catch (RpcException exception) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("cannot register with meta ({Status}: {Detail}); retrying", exception.StatusCode, exception.Status.Detail);
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task HeartbeatLoopAsync()
    {
        CancellationToken token = stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(heartbeatInterval, token);
                var request = new HeartbeatRequest { NodeId = Node.Id, Sequence = ++sequence, AppliedClusterMapVersion = AppliedVersion };
                HeartbeatResponse response = await meta.ClusterAsync((c, h, d, t) => c.HeartbeatAsync(request, h, d, t), token);
                if (response.RegisterAgain)
                {
                    await TryRegisterAsync(token);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException exception)
            {
                // Meta unreachable: keep serving I/O (storage does not need meta) and keep trying.
                logger.LogWarning("heartbeat failed ({Status}); retrying", exception.StatusCode);
            }
        }
    }

    private async Task MapLoopAsync()
    {
        CancellationToken token = stopping.Token;
        ulong seen = 0;
        while (!token.IsCancellationRequested)
        {
            try
            {
                ClusterMap map = await meta.ClusterAsync((c, h, d, t) => c.GetClusterMapAsync(new GetClusterMapRequest(), h, d, t), token);
                if (map.Version != seen && MapChanged is { } changed)
                {
                    await changed(map);
                    seen = map.Version;
                }

                await Task.Delay(MapPollInterval, token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException exception)
            {
                logger.LogWarning("cannot read the cluster map ({Status}); retrying", exception.StatusCode);
                try
                {
                    await Task.Delay(MapPollInterval, token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
