using Grpc.Core;
using Microsoft.Extensions.Logging;
using Sds.Meta.Client;
using Sds.Gateway.Scsi.Reservations;
using Sds.Proto.V1;

namespace Sds.Cli;

/// <summary>
/// A gateway's membership in the cluster (DESIGN.md §4, §6): registers with meta as a gateway node (its iSCSI
/// portal; meta assigns the stable target port group and relative target port ids), heartbeats at the interval
/// meta asks for (registering again when meta says it does not know the node), and follows the cluster map,
/// raising <see cref="MapChanged"/> with each new version. Registration and heartbeats go through
/// <see cref="MetaClient"/> (follows the leader, fails over between members); the map comes from a
/// <see cref="ClusterMapMirror"/> over the watch stream.
/// </summary>
/// <remarks>
/// The mirror's Changed handlers must not block, so it only wakes this class's map loop, which reconciles the
/// newest map (intermediate versions are skipped: the map is state, not a log). The watch has no keep-alive, so
/// when a heartbeat answer names a map version the mirror has not reached for <see cref="MirrorLagLimit"/>, the
/// mirror is told to resync (a silent partition of its stream).
/// </remarks>
internal sealed class GatewayMembership : IAsyncDisposable
{
    /// <summary>How long the mirror may stay behind the version meta reports in heartbeats before it resyncs.</summary>
    public static readonly TimeSpan MirrorLagLimit = TimeSpan.FromSeconds(3);

    private readonly MetaClient meta;
    private readonly MetaClient reservationClient;
    private readonly RegisterNodeRequest registration;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stopping = new();
    private readonly SemaphoreSlim mapArrived = new(0, 1);
    private ClusterMapMirror? mirror;
    private long lagSince;
    private Task heartbeats = Task.CompletedTask;
    private Task mapLoop = Task.CompletedTask;
    private TimeSpan heartbeatInterval = TimeSpan.FromSeconds(1);
    private ulong sequence;
    private long appliedVersion;

    private GatewayMembership(IReadOnlyList<string> metaAddresses, RegisterNodeRequest registration, ILogger logger)
    {
        meta = new MetaClient(metaAddresses) { Timeout = TimeSpan.FromSeconds(10) };
        // A PR OUT waits in meta for every live gateway (barrier up to a lease), longer than other calls.
        reservationClient = new MetaClient(metaAddresses) { Timeout = MetaPersistentReservations.CallTimeout + TimeSpan.FromSeconds(5) };
        this.registration = registration;
        this.logger = logger;
    }

    /// <summary>This gateway's lease from meta, renewed by every heartbeat (DESIGN.md §6; GatewayLease).</summary>
    public GatewayLease Lease { get; } = new();

    /// <summary>The watched map.</summary>
    public ClusterMapMirror Mirror => mirror!;

    /// <summary>Cluster.UpdateReservation through the meta client (leader hints, failover, one request id per call).</summary>
    public IReservationMeta ReservationMeta => new MetaReservations(reservationClient);

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

    /// <summary>
    /// Registers (retrying until <paramref name="cancellationToken"/>) and returns the membership; null if cancelled.
    /// The map comes from <paramref name="mirror"/> when given (owned by the membership: the co-located meta member
    /// of <c>sds server</c>), else from a watch on <paramref name="metaAddresses"/>.
    /// </summary>
    public static async Task<GatewayMembership?> RegisterAsync(IReadOnlyList<string> metaAddresses, string nodeId, string iscsiPortal, ILogger logger, CancellationToken cancellationToken,
        ClusterMapMirror? mirror = null)
    {
        var registration = new RegisterNodeRequest { NodeId = nodeId, IscsiPortal = iscsiPortal, Version = "0.1" };
        registration.Roles.Add(NodeRole.Gateway);
        var membership = new GatewayMembership(metaAddresses, registration, logger);
        membership.mirror = mirror ?? ClusterMapMirror.Remote(metaAddresses, nodeId, logger);
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
        Sds.Meta.Invariant.Assert(mirror is not null, "registered before starting");
        mirror.Changed += _ => Wake();
        mirror.Start();
        heartbeats = Task.Run(HeartbeatLoopAsync);
        mapLoop = Task.Run(MapLoopAsync);
        Wake(); // the mirror may already hold a map
    }

    /// <summary>Stops heartbeats and map following and waits for both loops (idempotent).</summary>
    public async Task StopAsync()
    {
        if (!stopping.IsCancellationRequested) await stopping.CancelAsync();
        try
        {
            await Task.WhenAll(heartbeats, mapLoop);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (mirror is not null) await mirror.DisposeAsync();
        meta.Dispose();
        reservationClient.Dispose();
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
                // At once after a reservation change was applied here (a PR OUT waits for every gateway).
                await Lease.HeartbeatDueAsync(heartbeatInterval, token);
                long sentAt = Lease.BeginHeartbeat();
                var request = new HeartbeatRequest { NodeId = Node.Id, Sequence = ++sequence, AppliedClusterMapVersion = AppliedVersion };
                HeartbeatResponse response = await meta.ClusterAsync((c, h, d, t) => c.HeartbeatAsync(request, h, d, t), token);
                // The lease counts from the send time, so it never outlives what meta granted.
                Lease.Renewed(sentAt, response.LeaseDurationMs);
                if (response.RegisterAgain)
                {
                    await TryRegisterAsync(token);
                }

                CheckMirrorLag(response.ClusterMapVersion);
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

    private void Wake()
    {
        try
        {
            if (mapArrived.CurrentCount == 0) mapArrived.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: the loop will read the newest map anyway.
        }
    }

    private void CheckMirrorLag(ulong metaVersion)
    {
        long now = Environment.TickCount64;
        if (mirror is null || mirror.Current.Version >= metaVersion)
        {
            lagSince = 0;
            return;
        }

        if (lagSince == 0)
        {
            lagSince = now;
        }
        else if (now - lagSince > (long)MirrorLagLimit.TotalMilliseconds)
        {
            logger.LogWarning("cluster map mirror at version {Held}, meta at {Meta}: resyncing the watch", mirror.Current.Version, metaVersion);
            mirror.Resync();
            lagSince = 0;
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
                await mapArrived.WaitAsync(token);
                ClusterMap map = mirror!.Current;
                if (map.Version != seen && map.Version != 0 && MapChanged is { } changed)
                {
                    await changed(map);
                    seen = map.Version;
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // A bug while applying a map must not end map following silently: log it; the next version retries.
                logger.LogError(exception, "applying cluster map version {Version} failed", mirror!.Current.Version);
            }
        }
    }

    /// <summary>The IReservationMeta adapter over MetaClient.</summary>
    private sealed class MetaReservations(MetaClient client) : IReservationMeta
    {
        public Task<UpdateReservationResponse> UpdateReservationAsync(UpdateReservationRequest request, CancellationToken cancellationToken) =>
            client.ClusterAsync((c, h, d, t) => c.UpdateReservationAsync(request, h, d, t), cancellationToken);
    }
}
