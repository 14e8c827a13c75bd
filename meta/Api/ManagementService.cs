using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Sds.Meta.State;
using Sds.Proto.V1;

namespace Sds.Meta.Api;

/// <summary>
/// The public management API (management.proto) on a meta member: argument checks that need no state run
/// here so garbage never reaches the log; the rest is decided by the state machine at apply time, which is
/// the authority (the same checks run there). Writes are Raft proposals; reads are linearizable.
/// </summary>
internal sealed class ManagementService : Management.ManagementBase
{
    private readonly MetaApiEdge edge;

    /// <summary>Creates the service over <paramref name="edge"/>.</summary>
    public ManagementService(MetaApiEdge edge) => this.edge = edge;

    /// <inheritdoc/>
    public override async Task<Volume> CreateVolume(CreateVolumeRequest request, ServerCallContext context)
    {
        uint blockSize = request.LogicalBlockSizeBytes == 0 ? 512 : request.LogicalBlockSizeBytes;
        MetaApiEdge.Valid(MetaValidation.VolumeName(request.Name) ?? MetaValidation.BlockSize(request.LogicalBlockSizeBytes) ??
            MetaValidation.VolumeSize(request.SizeBytes, blockSize) ?? MetaValidation.Replicas(request.Replicas) ?? MetaValidation.RequestId(request.RequestId));
        var command = new MetaCommand
        {
            RequestId = request.RequestId,
            CreateVolume = new CreateVolumeCommand { Request = request, VolumeId = Guid.NewGuid().ToString() },
        };
        CommandOutcome outcome = await edge.ProposeAsync(command, context);
        return await VolumeAsync(outcome.Resource, context);
    }

    /// <inheritdoc/>
    public override async Task<Volume> GetVolume(GetVolumeRequest request, ServerCallContext context) =>
        MetaApiEdge.Found(await edge.ReadAsync(s => s.FindVolume(request.Volume)?.Clone(), context), $"volume '{request.Volume}' does not exist; see sds volume list");

    /// <inheritdoc/>
    public override Task<ListVolumesResponse> ListVolumes(ListVolumesRequest request, ServerCallContext context) =>
        edge.ReadAsync(s => s.ListVolumes(request.PageSize, request.PageToken), context);

    /// <inheritdoc/>
    public override async Task<Volume> ResizeVolume(ResizeVolumeRequest request, ServerCallContext context)
    {
        CommandOutcome outcome = await edge.ProposeAsync(new MetaCommand { ResizeVolume = request }, context);
        return await VolumeAsync(outcome.Resource, context);
    }

    /// <inheritdoc/>
    public override async Task<Empty> DeleteVolume(DeleteVolumeRequest request, ServerCallContext context)
    {
        await edge.ProposeAsync(new MetaCommand { DeleteVolume = request }, context);
        return new Empty();
    }

    /// <inheritdoc/>
    public override async Task<Target> CreateTarget(CreateTargetRequest request, ServerCallContext context)
    {
        MetaApiEdge.Valid(request.Target is null ? "the target is missing from the request" : MetaValidation.IscsiName(request.Target.Iqn, "target IQN") ??
            MetaValidation.Alias(request.Target.Alias) ?? MetaValidation.Chap(request.Target.Chap));
        CommandOutcome outcome = await edge.ProposeAsync(new MetaCommand { CreateTarget = request }, context);
        return await TargetAsync(outcome.Resource, context);
    }

    /// <inheritdoc/>
    public override async Task<Target> GetTarget(GetTargetRequest request, ServerCallContext context) =>
        MetaApiEdge.Found(await edge.ReadAsync(s => s.FindTarget(request.Iqn) is { } t ? MetaStateMachine.WithoutSecrets(t) : null, context),
            $"target '{request.Iqn}' does not exist; see sds target list");

    /// <inheritdoc/>
    public override Task<ListTargetsResponse> ListTargets(ListTargetsRequest request, ServerCallContext context) =>
        edge.ReadAsync(s => s.ListTargets(request.PageSize, request.PageToken), context);

    /// <inheritdoc/>
    public override Task<Target> UpdateTarget(UpdateTargetRequest request, ServerCallContext context) =>
        TargetCommandAsync(new MetaCommand { UpdateTarget = request }, context);

    /// <inheritdoc/>
    public override async Task<Empty> DeleteTarget(DeleteTargetRequest request, ServerCallContext context)
    {
        await edge.ProposeAsync(new MetaCommand { DeleteTarget = request }, context);
        return new Empty();
    }

    /// <inheritdoc/>
    public override Task<Target> MapLun(MapLunRequest request, ServerCallContext context) =>
        TargetCommandAsync(new MetaCommand { MapLun = request }, context);

    /// <inheritdoc/>
    public override Task<Target> UnmapLun(UnmapLunRequest request, ServerCallContext context) =>
        TargetCommandAsync(new MetaCommand { UnmapLun = request }, context);

    /// <inheritdoc/>
    public override Task<Target> AddInitiator(AddInitiatorRequest request, ServerCallContext context)
    {
        MetaApiEdge.Valid(MetaValidation.IscsiName(request.InitiatorIqn, "initiator IQN"));
        return TargetCommandAsync(new MetaCommand { AddInitiator = request }, context);
    }

    /// <inheritdoc/>
    public override Task<Target> RemoveInitiator(RemoveInitiatorRequest request, ServerCallContext context) =>
        TargetCommandAsync(new MetaCommand { RemoveInitiator = request }, context);

    /// <inheritdoc/>
    public override Task<Target> SetChap(SetChapRequest request, ServerCallContext context)
    {
        MetaApiEdge.Valid(MetaValidation.Chap(request.Chap));
        return TargetCommandAsync(new MetaCommand { SetChap = request }, context);
    }

    /// <inheritdoc/>
    public override async Task<Node> GetNode(GetNodeRequest request, ServerCallContext context) =>
        WithHeartbeat(MetaApiEdge.Found(await edge.ReadAsync(s => s.FindNode(request.NodeId)?.Clone(), context), $"node '{request.NodeId}' does not exist; see sds node list"));

    /// <inheritdoc/>
    public override async Task<ListNodesResponse> ListNodes(ListNodesRequest request, ServerCallContext context)
    {
        ListNodesResponse response = await edge.ReadAsync(s => s.ListNodes(request.PageSize, request.PageToken, request.Role), context);
        foreach (Node node in response.Nodes) WithHeartbeat(node);
        return response;
    }

    /// <inheritdoc/>
    public override async Task<Node> DrainNode(DrainNodeRequest request, ServerCallContext context)
    {
        CommandOutcome outcome = await edge.ProposeAsync(new MetaCommand { DrainNode = request }, context);
        return await NodeAsync(outcome.Resource, context);
    }

    /// <inheritdoc/>
    public override async Task<Node> UndrainNode(UndrainNodeRequest request, ServerCallContext context)
    {
        CommandOutcome outcome = await edge.ProposeAsync(new MetaCommand { UndrainNode = request }, context);
        return await NodeAsync(outcome.Resource, context);
    }

    /// <inheritdoc/>
    public override Task<ClusterStatus> GetClusterStatus(GetClusterStatusRequest request, ServerCallContext context)
    {
        // The leader is read on the host thread once the read is confirmed, so it names the member that confirmed it.
        return edge.ReadAsync(s => ClusterStatusReport.Build(s, MetaApiEdge.MemberName(edge.Node.LeaderId), (uint)edge.Node.Membership.Voters.Count), context);
    }

    private async Task<Target> TargetCommandAsync(MetaCommand command, ServerCallContext context)
    {
        CommandOutcome outcome = await edge.ProposeAsync(command, context);
        return await TargetAsync(outcome.Resource, context);
    }

    // After our own write applied on this member, the local state already holds it (read-your-writes).
    private async Task<Volume> VolumeAsync(string id, ServerCallContext context) =>
        MetaApiEdge.Found(await edge.QueryAsync(s => s.FindVolume(id)?.Clone(), context), $"volume '{id}' was deleted meanwhile");

    private async Task<Target> TargetAsync(string iqn, ServerCallContext context) =>
        MetaApiEdge.Found(await edge.QueryAsync(s => s.FindTarget(iqn) is { } t ? MetaStateMachine.WithoutSecrets(t) : null, context), $"target '{iqn}' was deleted meanwhile");

    private async Task<Node> NodeAsync(string id, ServerCallContext context) =>
        WithHeartbeat(MetaApiEdge.Found(await edge.QueryAsync(s => s.FindNode(id)?.Clone(), context), $"node '{id}' was removed meanwhile"));

    private Node WithHeartbeat(Node node)
    {
        if (edge.Node.Detector.LastHeard(node.Id) is { } heard)
        {
            node.LastHeartbeatTime = Timestamp.FromDateTimeOffset(heard);
        }

        return node;
    }
}
