using System.Threading.Channels;
using Grpc.Core;
using Sds.Meta.Host;
using Sds.Meta.State;
using Sds.Meta.Watch;
using Sds.Proto.V1;

namespace Sds.Meta.Api;

/// <summary>
/// The cluster-internal meta API (meta.proto): node registration, heartbeats (liveness for the failure
/// detector, PG membership commands for PG leaders), the cluster map and its watch stream, and persistent
/// reservations. Heartbeats are answered by the leader only, since only it runs the failure detector.
/// </summary>
internal sealed class ClusterService : Cluster.ClusterBase
{
    /// <summary>How often nodes should heartbeat.</summary>
    public const uint HeartbeatIntervalMs = 1_000;

    private readonly MetaApiEdge edge;
    private readonly uint leaseDurationMs;
    private readonly ReservationBarrier reservationBarrier;

    /// <summary>Creates the service; <paramref name="leaseDuration"/> is the node-down timeout handed to gateways as their lease.</summary>
    public ClusterService(MetaApiEdge edge, TimeSpan leaseDuration)
    {
        this.edge = edge;
        leaseDurationMs = (uint)leaseDuration.TotalMilliseconds;
        reservationBarrier = new ReservationBarrier(leaseDuration, TimeProvider.System);
    }

    /// <inheritdoc/>
    public override async Task<RegisterNodeResponse> RegisterNode(RegisterNodeRequest request, ServerCallContext context)
    {
        if (request.Roles.Count == 0 || request.Roles.Contains(NodeRole.Unspecified))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "a node registers with at least one role"));
        }

        var command = new MetaCommand
        {
            RegisterNode = new RegisterNodeCommand { Request = request, AssignedNodeId = "node-" + Guid.NewGuid().ToString("N")[..12] },
        };
        CommandOutcome outcome = await edge.ProposeAsync(command, context);
        edge.Node.Detector.Heard(outcome.Resource);
        (Node? node, ulong version) = await edge.QueryAsync(s => (s.FindNode(outcome.Resource)?.Clone(), s.Version), context);
        return new RegisterNodeResponse
        {
            Node = MetaApiEdge.Found(node, $"node '{outcome.Resource}' was removed meanwhile"),
            ClusterMapVersion = version,
            HeartbeatIntervalMs = HeartbeatIntervalMs,
            LeaseDurationMs = leaseDurationMs,
        };
    }

    /// <inheritdoc/>
    public override async Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        edge.RequireLeader();
        (HeartbeatResponse response, NodeReportCommand? report) = await edge.QueryAsync(s => (Answer(s, request), WorthReplicating(s, request)), context);
        if (!response.RegisterAgain)
        {
            edge.Node.Detector.Heard(request.NodeId);
            reservationBarrier.Reported(request.NodeId, request.AppliedClusterMapVersion);
        }

        if (report is not null)
        {
            // Usage and PG leadership are replicated only when they moved noticeably, not on every heartbeat.
            await edge.ProposeAsync(new MetaCommand { NodeReport = report }, context);
        }

        if (response.LeaseDurationMs > 0 && await edge.QueryAsync(s => s.FindNode(request.NodeId)?.Roles.Contains(NodeRole.Gateway) == true, context))
        {
            // A gateway lease is granted from a linearizable read of the latest reservation change (ReadIndex, Raft
            // thesis §6.4): a deposed leader cannot complete it, and a new leader answers only once it has applied
            // everything committed before, so neither extends a lease over a reservation change it has not seen.
            ulong floor = await edge.ReadAsync(s => s.ReservationVersion, context);
            if (request.AppliedClusterMapVersion < floor)
            {
                response.LeaseDurationMs = 0;
            }
        }

        return response;
    }

    /// <inheritdoc/>
    public override async Task<ClusterMap> GetClusterMap(GetClusterMapRequest request, ServerCallContext context)
    {
        ClusterMap map = await edge.ReadAsync(s => s.ToClusterMap(), context);
        map.MetaLeaderNodeId = MetaApiEdge.MemberName(edge.Node.LeaderId);
        return map;
    }

    /// <inheritdoc/>
    public override async Task WatchClusterMap(WatchClusterMapRequest request, IServerStreamWriter<ClusterMapEvent> responseStream, ServerCallContext context)
    {
        ChannelReader<ClusterMapEvent> events = await edge.QueryAsync(
            s => edge.Node.Feed.Subscribe(request.KnownVersion, s.Version, s.ToClusterMap), context);
        try
        {
            while (await events.WaitToReadAsync(context.CancellationToken))
            {
                while (events.TryRead(out ClusterMapEvent? mapEvent))
                {
                    if (mapEvent.Full is { } full)
                    {
                        full.MetaLeaderNodeId = MetaApiEdge.MemberName(edge.Node.LeaderId);
                    }

                    await responseStream.WriteAsync(mapEvent);
                }
            }
        }
        catch (ClusterMapWatcherLaggedException lagged)
        {
            throw new RpcException(new Status(StatusCode.Aborted, lagged.Message));
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            edge.Node.Feed.Unsubscribe(events);
        }
    }

    /// <inheritdoc/>
    public override async Task<ReservationState> GetReservation(GetReservationRequest request, ServerCallContext context)
    {
        ReservationState? state = await edge.ReadAsync(
            s => s.FindVolume(request.VolumeId) is { } v ? s.FindReservation(v.Id)?.Clone() ?? new ReservationState { VolumeId = v.Id } : null, context);
        return MetaApiEdge.Found(state, $"volume '{request.VolumeId}' does not exist");
    }

    /// <inheritdoc/>
    public override async Task<UpdateReservationResponse> UpdateReservation(UpdateReservationRequest request, ServerCallContext context)
    {
        CommandOutcome outcome = await edge.ProposeAsync(new MetaCommand { UpdateReservation = request }, context);
        UpdateReservationResponse response = outcome.Reservation?.Clone() ?? new UpdateReservationResponse
        {
            // A retried request id: the first answer is gone; its result was kept with the request id.
            Result = ReservationLogic.ResultOfRetry(outcome),
            State = await edge.QueryAsync(s => s.FindReservation(outcome.Resource)?.Clone(), context) ?? new ReservationState { VolumeId = outcome.Resource },
        };

        // DESIGN.md §6: answer only when every live gateway holds the latest reservation change (or its lease
        // has surely ended). Waiting for the latest change, not this command's version, costs nothing extra
        // when this command changed nothing and is never weaker when it did.
        response.ClusterMapVersion = await edge.QueryAsync(s => s.ReservationVersion, context);
        await reservationBarrier.WaitAsync(response.ClusterMapVersion, () => edge.QueryAsync(LiveGateways, context), context.CancellationToken);
        return response;
    }

    /// <summary>
    /// Gateways whose lease may be running: UP in the map (a new leader has not heard them yet but an old one may
    /// have extended their lease), or heard by this leader within a lease (a DOWN gateway that came back).
    /// </summary>
    private IReadOnlyList<string> LiveGateways(MetaStateMachine state)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var live = new List<string>();
        foreach (Node node in state.Nodes)
        {
            if (!node.Roles.Contains(NodeRole.Gateway))
            {
                continue;
            }

            DateTimeOffset? heard = edge.Node.Detector.LastHeard(node.Id);
            bool recent = heard is { } at && now - at < TimeSpan.FromMilliseconds(leaseDurationMs) + ReservationBarrier.ClockMargin;
            if (node.State == NodeState.Up || recent)
            {
                live.Add(node.Id);
            }
        }

        return live;
    }

    /// <inheritdoc/>
    public override async Task<RejoinMetaMemberResponse> RejoinMetaMember(RejoinMetaMemberRequest request, ServerCallContext context)
    {
        edge.RequireLeader();
        MetaResult<CommandOutcome> result = await MemberRejoin.RunAsync(edge.Node, request.MemberId, context.CancellationToken);
        edge.Check(result.Status, result.LeaderHint);
        if (!result.Value.IsOk)
        {
            throw new RpcException(new Status(result.Value.Code, $"rejoin of member {request.MemberId}: {result.Value.Message}"));
        }

        var response = new RejoinMetaMemberResponse();
        response.Voters.Add(edge.Node.Membership.Voters);
        response.Learners.Add(edge.Node.Membership.Learners);
        return response;
    }

    /// <summary>A report to replicate when capacity changed, usage moved by more than 1% of capacity, or PG leadership differs from the map.</summary>
    private static NodeReportCommand? WorthReplicating(MetaStateMachine state, HeartbeatRequest request)
    {
        if (state.FindNode(request.NodeId) is not { } node)
        {
            return null;
        }

        ulong usedChange = node.UsedBytes > request.UsedBytes ? node.UsedBytes - request.UsedBytes : request.UsedBytes - node.UsedBytes;
        bool usageMoved = node.CapacityBytes != request.CapacityBytes || usedChange > Math.Max(request.CapacityBytes / 100, 1UL << 20);
        var report = new NodeReportCommand { NodeId = node.Id, CapacityBytes = request.CapacityBytes, UsedBytes = request.UsedBytes };
        foreach (PgReport pgReport in request.PgReports)
        {
            if (pgReport.Role == PgRole.Leader && state.PlacementGroups.FirstOrDefault(p => p.Id == pgReport.PgId) is { } pg && pg.LeaderNodeId != node.Id && pg.MemberNodeIds.Contains(node.Id))
            {
                report.LedPgIds.Add(pgReport.PgId);
            }
        }

        return usageMoved || report.LedPgIds.Count > 0 ? report : null;
    }

    private HeartbeatResponse Answer(MetaStateMachine state, HeartbeatRequest request)
    {
        var response = new HeartbeatResponse { ClusterMapVersion = state.Version, LeaseDurationMs = leaseDurationMs };
        if (state.FindNode(request.NodeId) is not { } node)
        {
            response.RegisterAgain = true;
            return response;
        }

        response.State = node.State;
        if (node.Roles.Contains(NodeRole.Gateway) && request.AppliedClusterMapVersion < state.ReservationVersion)
        {
            // DESIGN.md §6 lease rule: a gateway that has not applied the latest reservation change gets no
            // extension, so its stale copy stops being used when its current lease ends (ReservationBarrier).
            response.LeaseDurationMs = 0;
        }

        foreach (PgReport report in request.PgReports)
        {
            PlacementGroup? pg = state.PlacementGroups.FirstOrDefault(p => p.Id == report.PgId);
            if (pg is not null && report.Role == PgRole.Leader && report.Epoch < pg.Epoch)
            {
                var command = new PgMembershipCommand { PgId = pg.Id, TargetEpoch = pg.Epoch };
                command.MemberNodeIds.Add(pg.MemberNodeIds);
                command.LearnerNodeIds.Add(pg.LearnerNodeIds);
                response.PgCommands.Add(command);
            }
        }

        return response;
    }
}
