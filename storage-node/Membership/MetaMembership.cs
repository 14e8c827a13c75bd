using Grpc.Core;
using Sds.Meta.Client;
using Sds.Proto.V1;
using Sds.Raft;
using Sds.Storage.Placement;
using Sds.Storage.Replication;

namespace Sds.Storage.Membership;

/// <summary>
/// A storage node's side of meta (DESIGN.md §4–§5, issue #6): registers (role storage, gRPC address,
/// capacity), heartbeats with one <see cref="PgReport"/> per PG replica, applies the
/// <see cref="PgMembershipCommand"/>s meta answers with, and keeps <see cref="MetaPlacementSource"/> current.
/// The map normally arrives pushed (the watch-backed mirror); the heartbeat also carries meta's map version,
/// and a node behind it fetches the whole map, so a stalled watch cannot leave a node on old placement.
/// </summary>
internal sealed class MetaMembership : IAsyncDisposable
{
    private readonly MetaClient client;
    private readonly MetaPlacementSource placement;
    private readonly RegisterNodeRequest registration;
    private readonly string dataDirectory;
    private readonly CancellationTokenSource stopping = new();
    private StorageNodeHost? host;
    private Task? heartbeats;
    private TimeSpan interval = TimeSpan.FromSeconds(1);
    private ulong sequence;
    private ulong versionOneBeatAgo;

    /// <summary>Creates the agent for node <paramref name="nodeId"/> serving on <paramref name="grpcAddress"/>.</summary>
    public MetaMembership(MetaClient client, MetaPlacementSource placement, string nodeId, string grpcAddress, string dataDirectory)
    {
        this.client = client;
        this.placement = placement;
        this.dataDirectory = dataDirectory;
        registration = new RegisterNodeRequest { NodeId = nodeId, GrpcAddress = grpcAddress, Version = "sds-1" };
        registration.Roles.Add(NodeRole.Storage);
    }

    /// <summary>The watch-backed map copy feeding the placement, if any: told to resync when a heartbeat shows it lags.</summary>
    public ClusterMapMirror? Mirror { get; set; }

    /// <summary>Heartbeats answered by meta (tests, status).</summary>
    public long HeartbeatsAnswered { get; private set; }

    /// <summary>
    /// Registers with meta, retrying until it answers or <paramref name="cancellationToken"/> fires; returns the
    /// node as recorded (its Raft member id is what this node is in every PG group).
    /// </summary>
    public async Task<Node> RegisterAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (registration.CapacityBytes, _) = Capacity();
            try
            {
                RegisterNodeResponse response = await client.ClusterAsync((c, h, d, t) => c.RegisterNodeAsync(registration, h, d, t), cancellationToken).ConfigureAwait(false);
                interval = TimeSpan.FromMilliseconds(Math.Clamp(response.HeartbeatIntervalMs, 100u, 10_000u));
                return response.Node;
            }
            catch (RpcException exception) when (exception.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Fetches the whole map and applies it; false when meta did not answer.</summary>
    public async Task<bool> RefreshMapAsync(CancellationToken cancellationToken)
    {
        try
        {
            ClusterMap map = await client.ClusterAsync((c, h, d, t) => c.GetClusterMapAsync(new GetClusterMapRequest(), h, d, t), cancellationToken).ConfigureAwait(false);
            placement.Apply(map);
            return true;
        }
        catch (RpcException)
        {
            return false;
        }
    }

    /// <summary>
    /// Starts heartbeating right after registration, before the node has opened its stores (which may take a
    /// while): silence from a registered node would otherwise count towards DOWN and OUT.
    /// </summary>
    public void Start()
    {
        Invariant.Assert(heartbeats is null, "started once");
        heartbeats = Task.Run(() => HeartbeatLoopAsync(stopping.Token));
    }

    /// <summary>From now on heartbeats report <paramref name="storageHost"/>'s PG replicas.</summary>
    public void Attach(StorageNodeHost storageHost) => Volatile.Write(ref host, storageHost);

    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await HeartbeatOnceAsync(cancellationToken).ConfigureAwait(false);
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException)
            {
                // Meta unreachable or electing: the PGs keep serving on the placement they have (their own Raft
                // needs no meta); try again after a beat.
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task HeartbeatOnceAsync(CancellationToken cancellationToken)
    {
        (ulong capacity, ulong used) = Capacity();
        var request = new HeartbeatRequest
        {
            NodeId = registration.NodeId,
            Sequence = ++sequence,
            CapacityBytes = capacity,
            UsedBytes = used,
            AppliedClusterMapVersion = placement.Version,
        };
        StorageNodeHost? reporting = Volatile.Read(ref host);
        foreach (PgView view in reporting?.Views ?? [])
        {
            request.PgReports.Add(Report(view, reporting!.NodeId));
        }

        HeartbeatResponse response = await client.ClusterAsync((c, h, d, t) => c.HeartbeatAsync(request, h, d, t), cancellationToken).ConfigureAwait(false);
        HeartbeatsAnswered++;
        if (response.RegisterAgain)
        {
            await RegisterAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (PgMembershipCommand command in response.PgCommands)
        {
            placement.Apply(command);
        }

        if (placement.Version < versionOneBeatAgo || Mirror is null && response.ClusterMapVersion > placement.Version)
        {
            // A version meta announced a whole beat ago has not arrived: the watch lags or stalled silently (it
            // carries no keep-alive). Reopen it and fetch the map now.
            Mirror?.Resync();
            await RefreshMapAsync(cancellationToken).ConfigureAwait(false);
        }

        versionOneBeatAgo = response.ClusterMapVersion;
    }

    /// <summary>One PG replica's report; a leader also judges the PG's health against its assignment.</summary>
    private PgReport Report(PgView view, ulong self)
    {
        var report = new PgReport
        {
            PgId = view.PgId,
            Epoch = view.Epoch,
            Term = view.Term,
            CommitIndex = view.Committed,
            AppliedIndex = view.Applied,
            Role = view.Role switch
            {
                RaftRole.Leader => PgRole.Leader,
                RaftRole.Candidate or RaftRole.PreCandidate => PgRole.Candidate,
                _ => view.Learners.Contains(self) ? PgRole.Learner : PgRole.Follower,
            },
        };
        if (view.Role == RaftRole.Leader && view.PgId < placement.PlacementGroupCount)
        {
            PlacementGroupAssignment assignment = placement.GetAssignment(view.PgId);
            bool settled = view.Learners.Count == 0 && view.Voters.Count == assignment.Voters.Length && assignment.Voters.All(view.Voters.Contains);
            report.Health = settled ? PgHealth.Active : view.Learners.Count > 0 ? PgHealth.Recovering : PgHealth.Degraded;
        }

        return report;
    }

    private (ulong Capacity, ulong Used) Capacity()
    {
        try
        {
            var drive = new DriveInfo(Path.GetFullPath(dataDirectory));
            return ((ulong)drive.TotalSize, (ulong)(drive.TotalSize - drive.AvailableFreeSpace));
        }
        catch (IOException)
        {
            return (0, 0);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        if (heartbeats is not null)
        {
            try
            {
                await heartbeats.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        stopping.Dispose();
    }
}
