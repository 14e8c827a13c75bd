using System.Buffers.Binary;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Sds.Meta.Placement;
using Sds.Proto.V1;

namespace Sds.Meta.State;

/// <summary>
/// The cluster map of DESIGN.md §4 as a deterministic state machine: <see cref="Apply"/> is a pure function
/// of (state, command) — ids and time come inside the command, collections iterate in key order — so every
/// meta member that applies the same log holds the same bytes (<see cref="ToSnapshot"/> is canonical).
/// A refused command changes nothing. Driven by one thread (the Raft host loop); readers run on it too.
/// </summary>
internal sealed class MetaStateMachine
{
    private readonly SortedDictionary<string, Node> nodes = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, Volume> volumesById = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, string> volumeIdsByName = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, Target> targets = new(StringComparer.Ordinal);
    private readonly SortedDictionary<uint, PlacementGroup> placementGroups = new();
    private readonly SortedDictionary<string, ReservationState> reservations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AppliedRequest> appliedRequests = new(StringComparer.Ordinal);
    private readonly Queue<string> appliedRequestOrder = new();
    private ClusterMapDelta? delta;

    /// <summary>Creates an empty state; <paramref name="defaultReplicas"/> is the replica count when a request says 0.</summary>
    public MetaStateMachine(uint defaultReplicas = 3)
    {
        Invariant.Assert(defaultReplicas is >= 1 and <= MetaLimits.ReplicasMax, "default replicas in range");
        DefaultReplicas = defaultReplicas;
    }

    /// <summary>Cluster map version: +1 per applied command that changed the map.</summary>
    public ulong Version { get; private set; }

    /// <summary>Cluster identity (empty until the first leader's InitCluster is applied).</summary>
    public string ClusterId { get; private set; } = string.Empty;

    /// <summary>Number of placement groups (0 until InitCluster).</summary>
    public uint PgCount { get; private set; }

    /// <summary>Replicas of a volume whose request says 0, and of every PG.</summary>
    public uint DefaultReplicas { get; }

    /// <summary>Number of volumes.</summary>
    public int VolumeCount => volumesById.Count;

    /// <summary>Number of targets.</summary>
    public int TargetCount => targets.Count;

    /// <summary>Every node, in id order (live objects: read on the host thread, clone before handing out).</summary>
    public IEnumerable<Node> Nodes => nodes.Values;

    /// <summary>Every placement group, in id order.</summary>
    public IEnumerable<PlacementGroup> PlacementGroups => placementGroups.Values;

    /// <summary>
    /// Applies one committed command. <paramref name="change"/> receives what changed in the map (null when
    /// nothing did: a refusal, a retry of an applied request id, or a no-op).
    /// </summary>
    public CommandOutcome Apply(MetaCommand command, out ClusterMapDelta? change)
    {
        change = null;
        if (command.RequestId.Length > 0 && appliedRequests.TryGetValue(command.RequestId, out AppliedRequest? earlier))
        {
            // A retried request (the client lost the answer, or a proposal was re-sent after a leader change)
            // returns the first outcome and changes nothing (exactly-once apply).
            return new CommandOutcome((StatusCode)earlier.Code, earlier.Message, earlier.Resource);
        }

        ulong versionBefore = Version;
        delta = new ClusterMapDelta { BaseVersion = Version };
        DateTime time = command.Time?.ToDateTime() ?? DateTime.UnixEpoch;
        CommandOutcome outcome = command.CommandCase switch
        {
            MetaCommand.CommandOneofCase.InitCluster => InitCluster(command.InitCluster),
            MetaCommand.CommandOneofCase.CreateVolume => CreateVolume(command.CreateVolume, time),
            MetaCommand.CommandOneofCase.ResizeVolume => ResizeVolume(command.ResizeVolume),
            MetaCommand.CommandOneofCase.DeleteVolume => DeleteVolume(command.DeleteVolume),
            MetaCommand.CommandOneofCase.CreateTarget => CreateTarget(command.CreateTarget),
            MetaCommand.CommandOneofCase.UpdateTarget => UpdateTarget(command.UpdateTarget),
            MetaCommand.CommandOneofCase.DeleteTarget => DeleteTarget(command.DeleteTarget),
            MetaCommand.CommandOneofCase.MapLun => MapLun(command.MapLun),
            MetaCommand.CommandOneofCase.UnmapLun => UnmapLun(command.UnmapLun),
            MetaCommand.CommandOneofCase.AddInitiator => AddInitiator(command.AddInitiator),
            MetaCommand.CommandOneofCase.RemoveInitiator => RemoveInitiator(command.RemoveInitiator),
            MetaCommand.CommandOneofCase.SetChap => SetChap(command.SetChap),
            MetaCommand.CommandOneofCase.RegisterNode => RegisterNode(command.RegisterNode, time),
            MetaCommand.CommandOneofCase.SetNodeState => SetNodeState(command.SetNodeState.NodeId, command.SetNodeState.State, fromOperator: false),
            MetaCommand.CommandOneofCase.DrainNode => SetNodeState(command.DrainNode.NodeId, NodeState.Draining, fromOperator: true),
            MetaCommand.CommandOneofCase.UndrainNode => SetNodeState(command.UndrainNode.NodeId, NodeState.Up, fromOperator: true),
            MetaCommand.CommandOneofCase.UpdateReservation => ReservationLogic.Apply(this, command.UpdateReservation),
            MetaCommand.CommandOneofCase.NodeReport => NodeReport(command.NodeReport),
            _ => CommandOutcome.Fail(StatusCode.InvalidArgument, "unknown meta command"),
        };

        if (outcome.IsOk && HasChanges(delta))
        {
            Version++;
            change = delta;
        }

        delta = null;
        Invariant.Assert(Version == versionBefore || (outcome.IsOk && Version == versionBefore + 1), "a command moves the version by at most one, and only when applied");
        if (command.RequestId.Length > 0)
        {
            Remember(command.RequestId, outcome);
        }

        return outcome;
    }

    // ---- reads (host thread; results are clones) ----

    /// <summary>Finds a volume by id or name.</summary>
    public Volume? FindVolume(string key)
    {
        if (volumesById.TryGetValue(key, out Volume? byId))
        {
            return byId;
        }

        return volumeIdsByName.TryGetValue(key, out string? id) ? volumesById[id] : null;
    }

    /// <summary>Finds a target by IQN (case-insensitive, RFC 3722).</summary>
    public Target? FindTarget(string iqn) => targets.GetValueOrDefault(MetaValidation.NormalizeIscsiName(iqn));

    /// <summary>Finds a node by id.</summary>
    public Node? FindNode(string nodeId) => nodes.GetValueOrDefault(nodeId);

    /// <summary>Finds a volume's reservation state.</summary>
    public ReservationState? FindReservation(string volumeId) => reservations.GetValueOrDefault(volumeId);

    /// <summary>A page of volumes ordered by name, after <paramref name="pageToken"/> (the last name of the previous page).</summary>
    public ListVolumesResponse ListVolumes(int pageSize, string pageToken)
    {
        int limit = PageLimit(pageSize);
        var response = new ListVolumesResponse();
        foreach ((string name, string id) in volumeIdsByName)
        {
            if (pageToken.Length > 0 && string.CompareOrdinal(name, pageToken) <= 0)
            {
                continue;
            }

            if (response.Volumes.Count == limit)
            {
                response.NextPageToken = response.Volumes[^1].Name;
                break;
            }

            response.Volumes.Add(volumesById[id].Clone());
        }

        return response;
    }

    /// <summary>A page of targets ordered by IQN, secrets blanked.</summary>
    public ListTargetsResponse ListTargets(int pageSize, string pageToken)
    {
        int limit = PageLimit(pageSize);
        var response = new ListTargetsResponse();
        foreach ((string iqn, Target target) in targets)
        {
            if (pageToken.Length > 0 && string.CompareOrdinal(iqn, pageToken) <= 0)
            {
                continue;
            }

            if (response.Targets.Count == limit)
            {
                response.NextPageToken = response.Targets[^1].Iqn;
                break;
            }

            response.Targets.Add(WithoutSecrets(target));
        }

        return response;
    }

    /// <summary>A page of nodes ordered by id.</summary>
    public ListNodesResponse ListNodes(int pageSize, string pageToken, NodeRole role)
    {
        int limit = PageLimit(pageSize);
        var response = new ListNodesResponse();
        foreach ((string id, Node node) in nodes)
        {
            if ((pageToken.Length > 0 && string.CompareOrdinal(id, pageToken) <= 0) || (role != NodeRole.Unspecified && !node.Roles.Contains(role)))
            {
                continue;
            }

            if (response.Nodes.Count == limit)
            {
                response.NextPageToken = response.Nodes[^1].Id;
                break;
            }

            response.Nodes.Add(node.Clone());
        }

        return response;
    }

    /// <summary>A target as the management API shows it: CHAP secrets are write-only.</summary>
    public static Target WithoutSecrets(Target target)
    {
        Target copy = target.Clone();
        if (copy.Chap?.Initiator is { } initiator)
        {
            initiator.Secret = string.Empty;
        }

        if (copy.Chap?.Target is { } mutual)
        {
            mutual.Secret = string.Empty;
        }

        return copy;
    }

    /// <summary>The whole map (cluster-internal: targets keep their CHAP secrets, which gateways need).</summary>
    public ClusterMap ToClusterMap()
    {
        var map = new ClusterMap { Version = Version, ClusterId = ClusterId, PgCount = PgCount };
        foreach (Node node in nodes.Values) map.Nodes.Add(node.Clone());
        foreach (Volume volume in volumesById.Values) map.Volumes.Add(volume.Clone());
        foreach (Target target in targets.Values) map.Targets.Add(target.Clone());
        foreach (PlacementGroup pg in placementGroups.Values) map.PlacementGroups.Add(pg.Clone());
        foreach (ReservationState reservation in reservations.Values) map.Reservations.Add(reservation.Clone());
        return map;
    }

    // ---- snapshots ----

    /// <summary>The whole state as a protobuf message; equal states give equal bytes.</summary>
    public MetaState ToSnapshot()
    {
        var state = new MetaState
        {
            Version = Version,
            ClusterId = ClusterId,
            PgCount = PgCount,
            NextRaftMemberId = NextRaftMemberId,
            NextTargetPortId = NextTargetPortId,
        };
        foreach (Node node in nodes.Values) state.Nodes.Add(node.Clone());
        foreach (Volume volume in volumesById.Values) state.Volumes.Add(volume.Clone());
        foreach (Target target in targets.Values) state.Targets.Add(target.Clone());
        foreach (PlacementGroup pg in placementGroups.Values) state.PlacementGroups.Add(pg.Clone());
        foreach (ReservationState reservation in reservations.Values) state.Reservations.Add(reservation.Clone());
        foreach (string requestId in appliedRequestOrder) state.AppliedRequests.Add(appliedRequests[requestId].Clone());
        return state;
    }

    /// <summary>Replaces the whole state by a snapshot's.</summary>
    public void Restore(MetaState state)
    {
        nodes.Clear();
        volumesById.Clear();
        volumeIdsByName.Clear();
        targets.Clear();
        placementGroups.Clear();
        reservations.Clear();
        appliedRequests.Clear();
        appliedRequestOrder.Clear();
        Version = state.Version;
        ReservationVersion = state.Version;
        ClusterId = state.ClusterId;
        PgCount = state.PgCount;
        NextRaftMemberId = state.NextRaftMemberId;
        NextTargetPortId = state.NextTargetPortId;
        foreach (Node node in state.Nodes) nodes.Add(node.Id, node.Clone());
        foreach (Volume volume in state.Volumes)
        {
            volumesById.Add(volume.Id, volume.Clone());
            volumeIdsByName.Add(volume.Name, volume.Id);
        }

        foreach (Target target in state.Targets) targets.Add(target.Iqn, target.Clone());
        foreach (PlacementGroup pg in state.PlacementGroups) placementGroups.Add(pg.Id, pg.Clone());
        foreach (ReservationState reservation in state.Reservations) reservations.Add(reservation.VolumeId, reservation.Clone());
        foreach (AppliedRequest request in state.AppliedRequests)
        {
            appliedRequests.Add(request.RequestId, request.Clone());
            appliedRequestOrder.Enqueue(request.RequestId);
        }
    }

    private ulong NextRaftMemberId { get; set; } = 1;

    private uint NextTargetPortId { get; set; } = 1;

    // ---- commands ----

    private CommandOutcome InitCluster(InitClusterCommand init)
    {
        if (ClusterId.Length > 0)
        {
            return CommandOutcome.Ok(ClusterId); // a second leader raced the first: keep the first identity
        }

        if (init.ClusterId.Length == 0 || init.PgCount is 0 or > 65_536)
        {
            return CommandOutcome.Fail(StatusCode.InvalidArgument, "cluster id and a PG count of 1 to 65536 are required");
        }

        ClusterId = init.ClusterId;
        PgCount = init.PgCount;
        for (uint id = 0; id < PgCount; id++)
        {
            placementGroups.Add(id, new PlacementGroup { Id = id });
        }

        Rebalance();
        delta!.UpsertedPlacementGroups.Add(placementGroups.Values.Select(static pg => pg.Clone()));
        return CommandOutcome.Ok(ClusterId);
    }

    private CommandOutcome CreateVolume(CreateVolumeCommand create, DateTime time)
    {
        CreateVolumeRequest request = create.Request;
        string? error = MetaValidation.VolumeName(request.Name) ?? MetaValidation.BlockSize(request.LogicalBlockSizeBytes);
        uint blockSize = request.LogicalBlockSizeBytes == 0 ? 512 : request.LogicalBlockSizeBytes;
        error ??= MetaValidation.VolumeSize(request.SizeBytes, blockSize) ?? MetaValidation.Replicas(request.Replicas);
        if (error is not null)
        {
            return CommandOutcome.Fail(StatusCode.InvalidArgument, error);
        }

        if (volumeIdsByName.ContainsKey(request.Name))
        {
            return CommandOutcome.Fail(StatusCode.AlreadyExists, $"a volume named '{request.Name}' already exists");
        }

        if (volumesById.Count >= MetaLimits.VolumeCountMax)
        {
            return CommandOutcome.Fail(StatusCode.ResourceExhausted, $"the cluster already has the maximum of {MetaLimits.VolumeCountMax} volumes");
        }

        Invariant.Assert(Guid.TryParse(create.VolumeId, out Guid volumeGuid) && !volumesById.ContainsKey(create.VolumeId), "the leader chose a fresh UUID");
        var volume = new Volume
        {
            Id = create.VolumeId,
            Name = request.Name,
            SizeBytes = request.SizeBytes,
            LogicalBlockSizeBytes = blockSize,
            ChunkSizeBytes = MetaLimits.ChunkSizeBytes,
            Replicas = request.Replicas == 0 ? DefaultReplicas : request.Replicas,
            Thin = !request.HasThin || request.Thin,
            State = VolumeState.Available,
            NaaId = NaaId(volumeGuid),
            UnitSerial = volumeGuid.ToString("N"),
            CreateTime = Timestamp.FromDateTime(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
            Generation = 1,
        };
        volumesById.Add(volume.Id, volume);
        volumeIdsByName.Add(volume.Name, volume.Id);
        delta!.UpsertedVolumes.Add(volume.Clone());
        return CommandOutcome.Ok(volume.Id);
    }

    private CommandOutcome ResizeVolume(ResizeVolumeRequest request)
    {
        if (FindVolume(request.Volume) is not { } volume)
        {
            return VolumeNotFound(request.Volume);
        }

        if (request.NewSizeBytes < volume.SizeBytes)
        {
            bool mapped = IsMapped(volume.Id);
            return CommandOutcome.Fail(StatusCode.FailedPrecondition,
                $"volume '{volume.Name}' cannot shrink from {volume.SizeBytes} to {request.NewSizeBytes} bytes{(mapped ? " (it is mapped as a LUN)" : string.Empty)}: shrinking destroys data; only growing is supported");
        }

        if (MetaValidation.VolumeSize(request.NewSizeBytes, volume.LogicalBlockSizeBytes) is { } error)
        {
            return CommandOutcome.Fail(StatusCode.InvalidArgument, error);
        }

        if (request.NewSizeBytes == volume.SizeBytes)
        {
            return CommandOutcome.Ok(volume.Id);
        }

        volume.SizeBytes = request.NewSizeBytes;
        volume.Generation++;
        delta!.UpsertedVolumes.Add(volume.Clone());
        return CommandOutcome.Ok(volume.Id);
    }

    private CommandOutcome DeleteVolume(DeleteVolumeRequest request)
    {
        if (FindVolume(request.Volume) is not { } volume)
        {
            return VolumeNotFound(request.Volume);
        }

        List<(Target Target, LunMapping Lun)> mappings = [];
        foreach (Target target in targets.Values)
        {
            foreach (LunMapping lun in target.Luns)
            {
                if (lun.VolumeId == volume.Id) mappings.Add((target, lun));
            }
        }

        if (mappings.Count > 0 && !request.Force)
        {
            (Target first, LunMapping firstLun) = mappings[0];
            return CommandOutcome.Fail(StatusCode.FailedPrecondition,
                $"volume '{volume.Name}' is mapped as LUN {firstLun.Lun} of {first.Iqn}; unmap it first or delete with force");
        }

        foreach ((Target target, LunMapping lun) in mappings)
        {
            target.Luns.Remove(lun);
            target.Generation++;
            delta!.UpsertedTargets.Add(target.Clone());
        }

        volumesById.Remove(volume.Id);
        volumeIdsByName.Remove(volume.Name);
        reservations.Remove(volume.Id);
        delta!.RemovedVolumeIds.Add(volume.Id);
        return CommandOutcome.Ok(volume.Id);
    }

    private CommandOutcome CreateTarget(CreateTargetRequest request)
    {
        Target? proposed = request.Target;
        if (proposed is null)
        {
            return CommandOutcome.Fail(StatusCode.InvalidArgument, "the target is missing from the request");
        }

        string? error = MetaValidation.IscsiName(proposed.Iqn, "target IQN") ?? MetaValidation.Alias(proposed.Alias) ?? MetaValidation.Chap(proposed.Chap);
        if (error is null && proposed.Luns.Count > 0)
        {
            error = "a new target must have no LUNs; map them with MapLun";
        }

        if (error is null && proposed.AllowedInitiators.Count > MetaLimits.InitiatorsPerTargetMax)
        {
            error = $"more than {MetaLimits.InitiatorsPerTargetMax} allowed initiators";
        }

        foreach (string initiator in proposed.AllowedInitiators)
        {
            error ??= MetaValidation.IscsiName(initiator, "initiator IQN");
        }

        if (error is not null)
        {
            return CommandOutcome.Fail(StatusCode.InvalidArgument, error);
        }

        string iqn = MetaValidation.NormalizeIscsiName(proposed.Iqn);
        if (targets.ContainsKey(iqn))
        {
            return CommandOutcome.Fail(StatusCode.AlreadyExists, $"target {iqn} already exists");
        }

        if (targets.Count >= MetaLimits.TargetCountMax)
        {
            return CommandOutcome.Fail(StatusCode.ResourceExhausted, $"the cluster already has the maximum of {MetaLimits.TargetCountMax} targets");
        }

        var target = new Target { Iqn = iqn, Alias = proposed.Alias, Chap = proposed.Chap?.Clone(), Generation = 1, Removable = proposed.Removable };
        foreach (string initiator in proposed.AllowedInitiators.Select(MetaValidation.NormalizeIscsiName).Distinct().Order(StringComparer.Ordinal))
        {
            target.AllowedInitiators.Add(initiator);
        }

        targets.Add(iqn, target);
        delta!.UpsertedTargets.Add(target.Clone());
        return CommandOutcome.Ok(iqn);
    }

    private CommandOutcome UpdateTarget(UpdateTargetRequest request)
    {
        if (request.Target is null || FindTarget(request.Target.Iqn) is not { } target)
        {
            return TargetNotFound(request.Target?.Iqn ?? string.Empty);
        }

        if (request.ExpectedGeneration != 0 && request.ExpectedGeneration != target.Generation)
        {
            return CommandOutcome.Fail(StatusCode.Aborted, $"target {target.Iqn} is at generation {target.Generation}, not {request.ExpectedGeneration}; read it again and retry");
        }

        IList<string> paths = request.UpdateMask?.Paths ?? (IList<string>)[];
        Target updated = target.Clone();
        foreach (string path in paths)
        {
            switch (path)
            {
                case "alias":
                    updated.Alias = request.Target.Alias;
                    break;
                case "allowed_initiators":
                    updated.AllowedInitiators.Clear();
                    updated.AllowedInitiators.Add(request.Target.AllowedInitiators.Select(MetaValidation.NormalizeIscsiName).Distinct().Order(StringComparer.Ordinal));
                    break;
                case "chap":
                    updated.Chap = request.Target.Chap?.Clone();
                    break;
                case "chap.initiator":
                    updated.Chap ??= new ChapConfig();
                    updated.Chap.Initiator = request.Target.Chap?.Initiator?.Clone();
                    break;
                case "chap.target":
                    updated.Chap ??= new ChapConfig();
                    updated.Chap.Target = request.Target.Chap?.Target?.Clone();
                    break;
                case "luns":
                    return CommandOutcome.Fail(StatusCode.InvalidArgument, "LUNs cannot be updated here; use MapLun and UnmapLun");
                default:
                    return CommandOutcome.Fail(StatusCode.InvalidArgument, $"unknown update_mask path '{path}'; use alias, allowed_initiators, chap, chap.initiator or chap.target");
            }
        }

        string? error = MetaValidation.Alias(updated.Alias) ?? MetaValidation.Chap(updated.Chap);
        foreach (string initiator in updated.AllowedInitiators)
        {
            error ??= MetaValidation.IscsiName(initiator, "initiator IQN");
        }

        if (error is null && updated.AllowedInitiators.Count > MetaLimits.InitiatorsPerTargetMax)
        {
            error = $"more than {MetaLimits.InitiatorsPerTargetMax} allowed initiators";
        }

        if (error is not null)
        {
            return CommandOutcome.Fail(StatusCode.InvalidArgument, error);
        }

        if (updated.Equals(target))
        {
            return CommandOutcome.Ok(target.Iqn);
        }

        updated.Generation++;
        targets[target.Iqn] = updated;
        delta!.UpsertedTargets.Add(updated.Clone());
        return CommandOutcome.Ok(target.Iqn);
    }

    private CommandOutcome DeleteTarget(DeleteTargetRequest request)
    {
        if (FindTarget(request.Iqn) is not { } target)
        {
            return TargetNotFound(request.Iqn);
        }

        targets.Remove(target.Iqn);
        delta!.RemovedTargetIqns.Add(target.Iqn);
        return CommandOutcome.Ok(target.Iqn);
    }

    private CommandOutcome MapLun(MapLunRequest request)
    {
        if (FindTarget(request.TargetIqn) is not { } target)
        {
            return TargetNotFound(request.TargetIqn);
        }

        if (request.Lun > MetaLimits.LunMax)
        {
            return CommandOutcome.Fail(StatusCode.InvalidArgument, $"LUN {request.Lun} is out of range; use 0 to {MetaLimits.LunMax}");
        }

        if (FindVolume(request.Volume) is not { } volume)
        {
            return VolumeNotFound(request.Volume);
        }

        int insertAt = 0;
        foreach (LunMapping existing in target.Luns)
        {
            if (existing.Lun == request.Lun)
            {
                return CommandOutcome.Fail(StatusCode.AlreadyExists, $"LUN {request.Lun} of {target.Iqn} is already mapped to volume {VolumeName(existing.VolumeId)}");
            }

            if (existing.Lun < request.Lun) insertAt++;
        }

        if (target.Luns.Count >= MetaLimits.LunsPerTargetMax)
        {
            return CommandOutcome.Fail(StatusCode.ResourceExhausted, $"target {target.Iqn} already has the maximum of {MetaLimits.LunsPerTargetMax} LUNs");
        }

        target.Luns.Insert(insertAt, new LunMapping { Lun = request.Lun, VolumeId = volume.Id });
        target.Generation++;
        delta!.UpsertedTargets.Add(target.Clone());
        return CommandOutcome.Ok(target.Iqn);
    }

    private CommandOutcome UnmapLun(UnmapLunRequest request)
    {
        if (FindTarget(request.TargetIqn) is not { } target)
        {
            return TargetNotFound(request.TargetIqn);
        }

        LunMapping? mapping = target.Luns.FirstOrDefault(l => l.Lun == request.Lun);
        if (mapping is null)
        {
            return CommandOutcome.Fail(StatusCode.NotFound, $"LUN {request.Lun} is not mapped on {target.Iqn}");
        }

        target.Luns.Remove(mapping);
        target.Generation++;
        delta!.UpsertedTargets.Add(target.Clone());
        return CommandOutcome.Ok(target.Iqn);
    }

    private CommandOutcome AddInitiator(AddInitiatorRequest request)
    {
        if (FindTarget(request.TargetIqn) is not { } target)
        {
            return TargetNotFound(request.TargetIqn);
        }

        if (MetaValidation.IscsiName(request.InitiatorIqn, "initiator IQN") is { } error)
        {
            return CommandOutcome.Fail(StatusCode.InvalidArgument, error);
        }

        string initiator = MetaValidation.NormalizeIscsiName(request.InitiatorIqn);
        if (target.AllowedInitiators.Contains(initiator))
        {
            return CommandOutcome.Fail(StatusCode.AlreadyExists, $"initiator {initiator} is already allowed on {target.Iqn}");
        }

        if (target.AllowedInitiators.Count >= MetaLimits.InitiatorsPerTargetMax)
        {
            return CommandOutcome.Fail(StatusCode.ResourceExhausted, $"target {target.Iqn} already allows the maximum of {MetaLimits.InitiatorsPerTargetMax} initiators");
        }

        int insertAt = 0;
        while (insertAt < target.AllowedInitiators.Count && string.CompareOrdinal(target.AllowedInitiators[insertAt], initiator) < 0) insertAt++;
        target.AllowedInitiators.Insert(insertAt, initiator);
        target.Generation++;
        delta!.UpsertedTargets.Add(target.Clone());
        return CommandOutcome.Ok(target.Iqn);
    }

    private CommandOutcome RemoveInitiator(RemoveInitiatorRequest request)
    {
        if (FindTarget(request.TargetIqn) is not { } target)
        {
            return TargetNotFound(request.TargetIqn);
        }

        if (!target.AllowedInitiators.Remove(MetaValidation.NormalizeIscsiName(request.InitiatorIqn)))
        {
            return CommandOutcome.Fail(StatusCode.NotFound, $"initiator {request.InitiatorIqn} is not on the ACL of {target.Iqn}");
        }

        target.Generation++;
        delta!.UpsertedTargets.Add(target.Clone());
        return CommandOutcome.Ok(target.Iqn);
    }

    private CommandOutcome SetChap(SetChapRequest request)
    {
        if (FindTarget(request.TargetIqn) is not { } target)
        {
            return TargetNotFound(request.TargetIqn);
        }

        if (MetaValidation.Chap(request.Chap) is { } error)
        {
            return CommandOutcome.Fail(StatusCode.InvalidArgument, error);
        }

        ChapConfig? chap = request.Chap?.Initiator is null ? null : request.Chap.Clone();
        if (Equals(chap, target.Chap))
        {
            return CommandOutcome.Ok(target.Iqn);
        }

        target.Chap = chap;
        target.Generation++;
        delta!.UpsertedTargets.Add(target.Clone());
        return CommandOutcome.Ok(target.Iqn);
    }

    private CommandOutcome RegisterNode(RegisterNodeCommand register, DateTime time)
    {
        RegisterNodeRequest request = register.Request;
        string id = request.NodeId.Length > 0 ? request.NodeId : register.AssignedNodeId;
        if (id.Length == 0 || id.Length > 128 || request.Roles.Count == 0 || request.Roles.Contains(NodeRole.Unspecified))
        {
            return CommandOutcome.Fail(StatusCode.InvalidArgument, "a node registers with an id of at most 128 characters and at least one role");
        }

        if (!nodes.TryGetValue(id, out Node? node))
        {
            if (nodes.Count >= MetaLimits.NodeCountMax)
            {
                return CommandOutcome.Fail(StatusCode.ResourceExhausted, $"the cluster already has the maximum of {MetaLimits.NodeCountMax} nodes");
            }

            node = new Node { Id = id, RaftMemberId = NextRaftMemberId++ };
            if (request.Roles.Contains(NodeRole.Gateway))
            {
                node.TargetPortGroupId = NextTargetPortId;
                node.RelativeTargetPortId = NextTargetPortId;
                NextTargetPortId++;
            }

            nodes.Add(id, node);
        }

        node.Roles.Clear();
        node.Roles.Add(request.Roles.Distinct().Order());
        node.GrpcAddress = request.GrpcAddress;
        node.IscsiPortal = request.IscsiPortal;
        node.CapacityBytes = request.CapacityBytes;
        node.Version = request.Version;
        node.LastHeartbeatTime = Timestamp.FromDateTime(DateTime.SpecifyKind(time, DateTimeKind.Utc));
        if (node.State != NodeState.Draining)
        {
            node.State = NodeState.Up; // registering again is proof of life, even after OUT
        }

        delta!.UpsertedNodes.Add(node.Clone());
        Rebalance();
        return CommandOutcome.Ok(id);
    }

    private CommandOutcome SetNodeState(string nodeId, NodeState state, bool fromOperator)
    {
        if (!nodes.TryGetValue(nodeId, out Node? node))
        {
            return CommandOutcome.Fail(StatusCode.NotFound, $"node '{nodeId}' does not exist; see sds node list");
        }

        if (fromOperator && state == NodeState.Up && node.State != NodeState.Draining)
        {
            return CommandOutcome.Fail(StatusCode.FailedPrecondition, $"node '{nodeId}' is {StateName(node.State)}, not draining");
        }

        if (!fromOperator && node.State == NodeState.Draining && state == NodeState.Up)
        {
            return CommandOutcome.Ok(nodeId); // liveness never cancels an operator's drain
        }

        if (node.State == state)
        {
            return CommandOutcome.Ok(nodeId);
        }

        node.State = state;
        delta!.UpsertedNodes.Add(node.Clone());
        Rebalance();
        return CommandOutcome.Ok(nodeId);
    }

    private CommandOutcome NodeReport(NodeReportCommand report)
    {
        if (!nodes.TryGetValue(report.NodeId, out Node? node))
        {
            return CommandOutcome.Fail(StatusCode.NotFound, $"node '{report.NodeId}' does not exist");
        }

        if (node.CapacityBytes != report.CapacityBytes || node.UsedBytes != report.UsedBytes)
        {
            node.CapacityBytes = report.CapacityBytes;
            node.UsedBytes = report.UsedBytes;
            delta!.UpsertedNodes.Add(node.Clone());
        }

        foreach (uint pgId in report.LedPgIds)
        {
            // Only a member can lead; a stale report from a removed member must not misroute gateways.
            if (placementGroups.TryGetValue(pgId, out PlacementGroup? pg) && pg.LeaderNodeId != node.Id && pg.MemberNodeIds.Contains(node.Id))
            {
                pg.LeaderNodeId = node.Id;
                delta!.UpsertedPlacementGroups.Add(pg.Clone());
            }
        }

        return CommandOutcome.Ok(node.Id);
    }

    /// <summary>
    /// Recomputes every PG's members by rendezvous hashing over placement candidates: storage nodes that are
    /// UP, or DOWN but not yet OUT (a short outage moves nothing; the PG's own Raft rides it out). A PG whose
    /// member set changes gets a new epoch; the PG leader carries the change out one single-server step at a
    /// time, adding the new member before removing the old (DESIGN.md §5), so a replacement never lowers the copy count.
    /// </summary>
    /// <remarks>
    /// Two rules keep data safe when there are too few candidates:
    /// - A PG is first placed only once <see cref="DefaultReplicas"/> candidates exist. Its first voters are
    ///   recorded as <c>bootstrap_member_node_ids</c>, and only those replicas bootstrap the Raft group, so a
    ///   storage node that sees a later epoch first can never start a second group with another configuration.
    /// - Current members stay while no replacement exists (an OUT, DOWN or DRAINING member keeps its slot), so
    ///   meta never asks a PG to shrink below the replica count; the member set changes only when a candidate
    ///   can take the slot.
    /// </remarks>
    private void Rebalance()
    {
        var candidates = new List<string>();
        foreach (Node node in nodes.Values)
        {
            if (node.Roles.Contains(NodeRole.Storage) && node.State is NodeState.Up or NodeState.Down)
            {
                candidates.Add(node.Id);
            }
        }

        int replicas = (int)DefaultReplicas;
        foreach (PlacementGroup pg in placementGroups.Values)
        {
            if (pg.MemberNodeIds.Count == 0 && candidates.Count < replicas)
            {
                continue; // the first placement waits for a full set of voters
            }

            List<string> chosen = RendezvousPlacement.Choose(pg.Id, candidates, replicas);
            foreach (string member in pg.MemberNodeIds)
            {
                if (chosen.Count < replicas && !chosen.Contains(member) && nodes.ContainsKey(member))
                {
                    chosen.Add(member); // no candidate for this slot: the member keeps it
                }
            }

            if (chosen.Count == pg.MemberNodeIds.Count && chosen.All(pg.MemberNodeIds.Contains))
            {
                continue; // same set (order is only the rendezvous rank): nothing for the PG to do
            }

            pg.MemberNodeIds.Clear();
            pg.MemberNodeIds.Add(chosen);
            pg.LearnerNodeIds.Clear();
            if (pg.BootstrapMemberNodeIds.Count == 0)
            {
                pg.BootstrapMemberNodeIds.Add(chosen);
            }

            if (pg.LeaderNodeId.Length > 0 && !chosen.Contains(pg.LeaderNodeId))
            {
                pg.LeaderNodeId = string.Empty;
            }

            pg.Epoch++;
            delta!.UpsertedPlacementGroups.Add(pg.Clone());
        }
    }

    // ---- helpers ----

    /// <summary>Used by <see cref="ReservationLogic"/> to record a changed reservation state.</summary>
    internal void PutReservation(ReservationState state, bool changed)
    {
        reservations[state.VolumeId] = state;
        if (changed)
        {
            delta!.UpsertedReservations.Add(state.Clone());
            ReservationVersion = Version + 1;
        }
    }

    /// <summary>
    /// The map version of the latest reservation change (the version this command produces). Gateways whose
    /// applied version is below it get no lease extension (ClusterService.Heartbeat, DESIGN.md §6). Not in the
    /// snapshot: after a restore it is the restored version, which only asks more of gateways, never less.
    /// </summary>
    public ulong ReservationVersion { get; private set; }

    private bool IsMapped(string volumeId) => targets.Values.Any(t => t.Luns.Any(l => l.VolumeId == volumeId));

    private string VolumeName(string volumeId) => volumesById.TryGetValue(volumeId, out Volume? v) ? v.Name : volumeId;

    private static CommandOutcome VolumeNotFound(string key) =>
        CommandOutcome.Fail(StatusCode.NotFound, $"volume '{key}' does not exist; see sds volume list");

    private static CommandOutcome TargetNotFound(string iqn) =>
        CommandOutcome.Fail(StatusCode.NotFound, $"target '{iqn}' does not exist; see sds target list");

    private static string StateName(NodeState state) => state.ToString().ToLowerInvariant();

    private static int PageLimit(int pageSize) => pageSize <= 0 ? 100 : Math.Min(pageSize, 1000);

    private static bool HasChanges(ClusterMapDelta d) =>
        d.UpsertedNodes.Count + d.RemovedNodeIds.Count + d.UpsertedVolumes.Count + d.RemovedVolumeIds.Count +
        d.UpsertedTargets.Count + d.RemovedTargetIqns.Count + d.UpsertedPlacementGroups.Count + d.UpsertedReservations.Count > 0;

    private void Remember(string requestId, CommandOutcome outcome)
    {
        if (appliedRequestOrder.Count >= MetaLimits.AppliedRequestsMax)
        {
            appliedRequests.Remove(appliedRequestOrder.Dequeue());
        }

        appliedRequests.Add(requestId, new AppliedRequest { RequestId = requestId, Code = (int)outcome.Code, Message = outcome.Message, Resource = outcome.Resource });
        appliedRequestOrder.Enqueue(requestId);
    }

    /// <summary>NAA IEEE Registered Extended designator (SPC-4 §7.8.6.6.5), the same derivation the gateway uses.</summary>
    private static string NaaId(Guid volumeId)
    {
        const uint ieeeCompanyId = 0x5D_5D_5D;
        UInt128 volumeBits = BinaryPrimitives.ReadUInt128BigEndian(volumeId.ToByteArray(bigEndian: true));
        UInt128 naa = ((UInt128)6 << 124) | ((UInt128)ieeeCompanyId << 100) | (volumeBits & (((UInt128)1 << 100) - 1));
        return naa.ToString("x32", System.Globalization.CultureInfo.InvariantCulture);
    }
}
