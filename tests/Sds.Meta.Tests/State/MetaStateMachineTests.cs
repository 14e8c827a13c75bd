using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Sds.Meta.State;
using Sds.Proto.V1;

namespace Sds.Meta.Tests.State;

/// <summary>
/// Proves the meta state machine is deterministic and that snapshots are exact: two machines fed the same
/// seeded command sequence hold byte-identical snapshots after every command, a restored snapshot equals its
/// source byte for byte, a request id is applied once, and a refused command changes nothing.
/// </summary>
public sealed class MetaStateMachineTests
{
    [Fact]
    public void ApplyIsDeterministicAndSnapshotsRoundTrip()
    {
        var random = new Random(674386);
        List<MetaCommand> commands = Workload(random, 600);
        var first = new MetaStateMachine();
        var second = new MetaStateMachine();
        int applied = 0;
        for (int i = 0; i < commands.Count; i++)
        {
            CommandOutcome a = first.Apply(commands[i].Clone(), out _);
            CommandOutcome b = second.Apply(commands[i].Clone(), out _);
            Assert.Equal(a, b);
            applied += a.IsOk ? 1 : 0;
            if (i % 50 == 0)
            {
                Assert.Equal(first.ToSnapshot().ToByteArray(), second.ToSnapshot().ToByteArray());
            }
        }

        Assert.True(applied > 200, $"the workload applies many commands ({applied})");
        byte[] bytes = first.ToSnapshot().ToByteArray();
        var restored = new MetaStateMachine();
        restored.Restore(MetaState.Parser.ParseFrom(bytes));
        Assert.Equal(bytes, restored.ToSnapshot().ToByteArray());

        // The restored machine continues exactly like the original.
        List<MetaCommand> more = Workload(new Random(5), 100);
        foreach (MetaCommand command in more)
        {
            Assert.Equal(first.Apply(command.Clone(), out _), restored.Apply(command.Clone(), out _));
        }

        Assert.Equal(first.ToSnapshot().ToByteArray(), restored.ToSnapshot().ToByteArray());
    }

    [Fact]
    public void RequestIdIsAppliedOnce()
    {
        var state = new MetaStateMachine();
        MetaCommand create = CreateVolume("db1", 1 << 30, "req-1");
        CommandOutcome first = state.Apply(create, out ClusterMapDelta? delta);
        Assert.True(first.IsOk);
        Assert.NotNull(delta);
        ulong version = state.Version;

        // A retry carries the same request id (and, from a new leader, a new volume id): same answer, no change.
        MetaCommand retry = CreateVolume("db1", 1 << 30, "req-1");
        CommandOutcome second = state.Apply(retry, out ClusterMapDelta? none);
        Assert.Equal(first, second);
        Assert.Null(none);
        Assert.Equal(version, state.Version);
        Assert.Equal(1, state.VolumeCount);
    }

    [Fact]
    public void RefusedCommandsLeaveStateUnchanged()
    {
        var state = new MetaStateMachine();
        Assert.True(state.Apply(CreateVolume("db1", 1 << 30), out _).IsOk);
        Assert.True(state.Apply(new MetaCommand { CreateTarget = new CreateTargetRequest { Target = new Target { Iqn = "iqn.2026-11.io.sds:t1" } } }, out _).IsOk);
        Assert.True(state.Apply(new MetaCommand { MapLun = new MapLunRequest { TargetIqn = "iqn.2026-11.io.sds:t1", Lun = 0, Volume = "db1" } }, out _).IsOk);
        byte[] before = state.ToSnapshot().ToByteArray();
        (MetaCommand Command, StatusCode Code)[] refused =
        [
            (CreateVolume("db1", 1 << 30), StatusCode.AlreadyExists),
            (CreateVolume("Bad Name", 1 << 30), StatusCode.InvalidArgument),
            (CreateVolume("zero", 0), StatusCode.InvalidArgument),
            (CreateVolume("odd", 1000), StatusCode.InvalidArgument),
            (CreateVolume("huge", 1UL << 50), StatusCode.InvalidArgument),
            (new MetaCommand { ResizeVolume = new ResizeVolumeRequest { Volume = "db1", NewSizeBytes = 1 << 20 } }, StatusCode.FailedPrecondition),
            (new MetaCommand { DeleteVolume = new DeleteVolumeRequest { Volume = "db1" } }, StatusCode.FailedPrecondition),
            (new MetaCommand { CreateTarget = new CreateTargetRequest { Target = new Target { Iqn = "IQN.2026-11.io.sds:T1" } } }, StatusCode.AlreadyExists),
            (new MetaCommand { CreateTarget = new CreateTargetRequest { Target = new Target { Iqn = "iqn.bad" } } }, StatusCode.InvalidArgument),
            (new MetaCommand { MapLun = new MapLunRequest { TargetIqn = "iqn.2026-11.io.sds:t1", Lun = 1, Volume = "missing" } }, StatusCode.NotFound),
            (new MetaCommand { MapLun = new MapLunRequest { TargetIqn = "iqn.2026-11.io.sds:t1", Lun = 0, Volume = "db1" } }, StatusCode.AlreadyExists),
            (new MetaCommand { SetChap = new SetChapRequest { TargetIqn = "iqn.2026-11.io.sds:t1", Chap = Chap("user", "short") } }, StatusCode.InvalidArgument),
            (new MetaCommand { SetChap = new SetChapRequest { TargetIqn = "iqn.2026-11.io.sds:t1", Chap = Chap("user", "seventeen-bytes!!") } }, StatusCode.InvalidArgument),
            (new MetaCommand { UnmapLun = new UnmapLunRequest { TargetIqn = "iqn.2026-11.io.sds:t1", Lun = 7 } }, StatusCode.NotFound),
        ];
        foreach ((MetaCommand command, StatusCode code) in refused)
        {
            CommandOutcome outcome = state.Apply(command, out ClusterMapDelta? delta);
            Assert.Equal(code, outcome.Code);
            Assert.False(string.IsNullOrWhiteSpace(outcome.Message));
            Assert.Null(delta);
        }

        MetaState after = state.ToSnapshot();
        after.AppliedRequests.Clear();
        MetaState expected = MetaState.Parser.ParseFrom(before);
        expected.AppliedRequests.Clear();
        Assert.Equal(expected, after);
    }

    [Fact]
    public void NodeChangesRebalancePlacementGroupsWithNewEpochs()
    {
        var state = new MetaStateMachine(defaultReplicas: 3);
        Assert.True(state.Apply(new MetaCommand { InitCluster = new InitClusterCommand { ClusterId = "c", PgCount = 32 } }, out _).IsOk);
        for (int i = 1; i <= 4; i++)
        {
            Assert.True(state.Apply(Register($"storage-{i}"), out _).IsOk);
        }

        Assert.All(state.PlacementGroups, pg => Assert.Equal(3, pg.MemberNodeIds.Count));
        Dictionary<uint, ulong> epochs = state.PlacementGroups.ToDictionary(pg => pg.Id, pg => pg.Epoch);
        Assert.True(state.Apply(new MetaCommand { DrainNode = new DrainNodeRequest { NodeId = "storage-2" } }, out ClusterMapDelta? delta).IsOk);
        Assert.NotNull(delta);
        Assert.All(state.PlacementGroups, pg => Assert.DoesNotContain("storage-2", pg.MemberNodeIds));
        foreach (PlacementGroup pg in delta!.UpsertedPlacementGroups)
        {
            Assert.Equal(epochs[pg.Id] + 1, pg.Epoch);
        }

        // DOWN keeps placement (a short outage moves nothing); OUT moves the slots.
        Assert.True(state.Apply(new MetaCommand { SetNodeState = new SetNodeStateCommand { NodeId = "storage-3", State = NodeState.Down } }, out ClusterMapDelta? down).IsOk);
        Assert.Empty(down!.UpsertedPlacementGroups);
        Assert.True(state.Apply(new MetaCommand { SetNodeState = new SetNodeStateCommand { NodeId = "storage-3", State = NodeState.Out } }, out ClusterMapDelta? outDelta).IsOk);
        Assert.NotEmpty(outDelta!.UpsertedPlacementGroups);
        Assert.All(state.PlacementGroups, pg => Assert.DoesNotContain("storage-3", pg.MemberNodeIds));
    }

    [Fact]
    public void PersistentReservationRegisterReserveConflictRelease()
    {
        var state = new MetaStateMachine();
        Assert.True(state.Apply(CreateVolume("db1", 1 << 30), out _).IsOk);
        string id = state.FindVolume("db1")!.Id;
        ItNexus a = new() { InitiatorPort = "iqn.a,i,0x1", TargetPort = "iqn.t,t,0x1" };
        ItNexus b = new() { InitiatorPort = "iqn.b,i,0x1", TargetPort = "iqn.t,t,0x1" };
        ReservationResult Run(ReservationAction action, ItNexus nexus, ulong key, ulong serviceKey = 0, ReservationType type = ReservationType.None) =>
            state.Apply(new MetaCommand { UpdateReservation = new UpdateReservationRequest { VolumeId = id, Action = action, Nexus = nexus, ReservationKey = key, ServiceActionReservationKey = serviceKey, Type = type } }, out _).Reservation!.Result;

        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Register, a, 0, 0xA));
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Register, b, 0, 0xB));
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Reserve, a, 0xA, type: ReservationType.WriteExclusive));
        Assert.Equal(ReservationResult.Conflict, Run(ReservationAction.Reserve, b, 0xB, type: ReservationType.WriteExclusive));
        Assert.Equal(ReservationResult.Conflict, Run(ReservationAction.Release, b, 0xBAD, type: ReservationType.WriteExclusive));
        Assert.Equal(ReservationResult.InvalidRelease, Run(ReservationAction.Release, a, 0xA, type: ReservationType.ExclusiveAccess));
        Assert.Equal(ReservationResult.Ok, Run(ReservationAction.Preempt, b, 0xB, 0xA, ReservationType.ExclusiveAccess));
        ReservationState after = state.FindReservation(id)!;
        Assert.Equal(ReservationType.ExclusiveAccess, after.Type);
        // A registrant is its initiator port (canonical "name,i,0x" + 12 hex digits) and relative target port.
        Assert.Equal("iqn.b,i,0x000000000001", after.Holder.InitiatorPort);
        Assert.Single(after.Registrations);
        Assert.Equal(3u, after.PrGeneration); // two REGISTERs and a PREEMPT; RESERVE does not count (SPC-4 §6.16.2)
    }

    internal static MetaCommand CreateVolume(string name, ulong size, string requestId = "") => new()
    {
        RequestId = requestId,
        Time = Timestamp.FromDateTime(new DateTime(2026, 11, 20, 0, 0, 0, DateTimeKind.Utc)),
        CreateVolume = new CreateVolumeCommand { Request = new CreateVolumeRequest { Name = name, SizeBytes = size }, VolumeId = Guid.NewGuid().ToString() },
    };

    private static ChapConfig Chap(string user, string secret) => new() { Initiator = new ChapSecret { User = user, Secret = secret } };

    private static MetaCommand Register(string id)
    {
        var request = new RegisterNodeRequest { NodeId = id, GrpcAddress = "127.0.0.1:1", CapacityBytes = 1UL << 40 };
        request.Roles.Add(NodeRole.Storage);
        return new MetaCommand { RegisterNode = new RegisterNodeCommand { Request = request } };
    }

    /// <summary>A seeded mix of every command kind, valid and invalid, with ids chosen by the "leader" (the seed).</summary>
    private static List<MetaCommand> Workload(Random random, int count)
    {
        var commands = new List<MetaCommand> { new() { InitCluster = new InitClusterCommand { ClusterId = "cluster", PgCount = 16 } } };
        var time = new DateTime(2026, 11, 20, 0, 0, 0, DateTimeKind.Utc);
        for (int i = 0; i < count; i++)
        {
            string volume = $"v{random.Next(40)}";
            string target = $"iqn.2026-11.io.sds:t{random.Next(8)}";
            var command = new MetaCommand { Time = Timestamp.FromDateTime(time.AddSeconds(i)), RequestId = random.Next(4) == 0 ? $"r{random.Next(50)}" : string.Empty };
            byte[] guid = new byte[16];
            random.NextBytes(guid);
            switch (random.Next(12))
            {
                case 0 or 1 or 2:
                    command.CreateVolume = new CreateVolumeCommand { Request = new CreateVolumeRequest { Name = volume, SizeBytes = (ulong)random.Next(0, 8) << 20 }, VolumeId = new Guid(guid).ToString() };
                    break;
                case 3:
                    command.ResizeVolume = new ResizeVolumeRequest { Volume = volume, NewSizeBytes = (ulong)random.Next(0, 16) << 20 };
                    break;
                case 4:
                    command.DeleteVolume = new DeleteVolumeRequest { Volume = volume, Force = random.Next(2) == 0 };
                    break;
                case 5:
                    command.CreateTarget = new CreateTargetRequest { Target = new Target { Iqn = target, Alias = "a" } };
                    break;
                case 6:
                    command.MapLun = new MapLunRequest { TargetIqn = target, Lun = (uint)random.Next(4), Volume = volume };
                    break;
                case 7:
                    command.UnmapLun = new UnmapLunRequest { TargetIqn = target, Lun = (uint)random.Next(4) };
                    break;
                case 8:
                    command.AddInitiator = new AddInitiatorRequest { TargetIqn = target, InitiatorIqn = $"iqn.2026-11.io.host:h{random.Next(5)}" };
                    break;
                case 9:
                    command.SetChap = new SetChapRequest { TargetIqn = target, Chap = Chap("u" + random.Next(3), new string('s', random.Next(10, 18))) };
                    break;
                case 10:
                    var register = new RegisterNodeRequest { NodeId = $"storage-{random.Next(6)}", GrpcAddress = "127.0.0.1:1" };
                    register.Roles.Add(random.Next(3) == 0 ? NodeRole.Gateway : NodeRole.Storage);
                    command.RegisterNode = new RegisterNodeCommand { Request = register };
                    break;
                default:
                    command.SetNodeState = new SetNodeStateCommand { NodeId = $"storage-{random.Next(6)}", State = (NodeState)random.Next(1, 4) };
                    break;
            }

            commands.Add(command);
        }

        return commands;
    }
}
