using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Sds.Gateway.Block;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Reservations;
using Sds.Meta.Client;
using Wire = Sds.Proto.V1;
using Sds.Testing;

namespace Sds.Gateway.Tests.Scsi.Reservations;

/// <summary>
/// Three real <c>sds meta</c> processes on 127.0.0.1 (free ports, own data directories), for the reservation
/// cluster tests. Members are stopped by the PIDs this object started, never by name.
/// </summary>
internal sealed class MetaProcessCluster : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "sds-pr-cluster-" + Guid.NewGuid().ToString("N"));
    private readonly Process?[] members = new Process?[4];

    public MetaProcessCluster()
    {
        Directory.CreateDirectory(root);
        Addresses = new string[3];
        for (int id = 1; id <= 3; id++) Addresses[id - 1] = $"127.0.0.1:{TestPorts.Free()}";
    }

    /// <summary>host:port of members 1..3 (index = id - 1).</summary>
    public string[] Addresses { get; }

    public void StartAll()
    {
        for (int id = 1; id <= 3; id++) Start(id);
    }

    public void Start(int id)
    {
        members[id]?.Dispose();
        string peers = string.Join(',', Enumerable.Range(1, 3).Select(i => $"{i}={Addresses[i - 1]}"));
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(SdsDllPath);
        foreach (string arg in new[] { "meta", "--id", id.ToString(CultureInfo.InvariantCulture), "--peers", peers, "--data", Path.Combine(root, $"data{id}") })
            info.ArgumentList.Add(arg);
        info.Environment.Remove("SDS_API");
        var process = Process.Start(info)!;
        var log = new StreamWriter(Path.Combine(root, $"log{id}.txt"), append: true) { AutoFlush = true };
        var gate = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        members[id] = process;
    }

    /// <summary>SIGKILL of member <paramref name="id"/> (by the PID this cluster started), waiting for it to exit.</summary>
    public void Kill(int id)
    {
        Process? member = members[id];
        if (member is null || member.HasExited) return;
        member.Kill();
        member.WaitForExit(10_000);
    }

    /// <summary>The member id of the current leader, asked through <paramref name="client"/>.</summary>
    public static async Task<int> LeaderAsync(MetaClient client, CancellationToken cancellationToken)
    {
        Wire.ClusterStatus status = await client.ManagementAsync((c, h, d, t) => c.GetClusterStatusAsync(new Wire.GetClusterStatusRequest(), h, d, t), cancellationToken);
        return int.Parse(status.MetaLeaderNodeId["meta-".Length..], CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        for (int id = 1; id <= 3; id++) TestProcesses.Stop(members[id]);
        TestProcesses.DeleteTree(root);
    }

    /// <summary>sds.dll next to the tests when the SDK copied it with its runtimeconfig, else cli/bin of the same configuration.</summary>
    private static string SdsDllPath
    {
        get
        {
            string local = Path.Combine(AppContext.BaseDirectory, "sds.dll");
            if (File.Exists(local) && File.Exists(Path.Combine(AppContext.BaseDirectory, "sds.runtimeconfig.json"))) return local;
            var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            string configuration = testBin.Parent!.Name;
            string repository = testBin.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
            return Path.Combine(repository, "cli", "bin", configuration, "net10.0", "sds.dll");
        }
    }

}

/// <summary>
/// The reservation side of one cluster gateway, built the way the gateway role builds it: registered in meta as a
/// gateway node, a <see cref="ClusterMapMirror"/> feeding <see cref="MetaPersistentReservations.Observe"/>, a
/// heartbeat loop that reports the applied map version and renews the <see cref="GatewayLease"/>, and one logical
/// unit (memory medium; the reservation state is what is under test) in a real <see cref="ScsiTargetDevice"/>.
/// </summary>
internal sealed class ClusterGateway : IAsyncDisposable
{
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);
    private readonly CancellationTokenSource stopping = new();
    private MetaClient? client;
    private ClusterMapMirror? mirror;
    private Task? heartbeats;
    private ulong sequence;

    private ClusterGateway(ushort relativePort) => RelativePort = relativePort;

    public ushort RelativePort { get; }
    public string NodeId { get; private set; } = string.Empty;
    public GatewayLease Lease { get; } = new();
    public MetaPersistentReservations Reservations { get; private set; } = null!;
    public ScsiTargetDevice Target { get; } = new();
    public LogicalUnit Unit { get; private set; } = null!;

    /// <summary>Starts a gateway for <paramref name="volumeId"/> whose target port has <paramref name="relativePort"/>.</summary>
    public static async Task<ClusterGateway> StartAsync(string[] metaAddresses, string volumeId, ushort relativePort, CancellationToken cancellationToken)
    {
        var gateway = new ClusterGateway(relativePort);
        gateway.client = new MetaClient(metaAddresses) { Timeout = TimeSpan.FromSeconds(30) };
        var register = new Wire.RegisterNodeRequest { GrpcAddress = "127.0.0.1:1", IscsiPortal = $"127.0.0.1:{3260 + relativePort}" };
        register.Roles.Add(Wire.NodeRole.Gateway);
        Wire.RegisterNodeResponse registered = await gateway.client.ClusterAsync((c, h, d, t) => c.RegisterNodeAsync(register, h, d, t), cancellationToken);
        gateway.NodeId = registered.Node.Id;
        gateway.mirror = ClusterMapMirror.Remote(metaAddresses, gateway.NodeId);
        gateway.mirror.Start();
        await gateway.mirror.WaitForVersionAsync(registered.ClusterMapVersion, cancellationToken);
        Wire.ClusterMap map = gateway.mirror.Current;
        gateway.Reservations = new MetaPersistentReservations(volumeId, new MetaClientReservations(gateway.client), gateway.Lease, map.Version, MetaPersistentReservations.StateOf(map, volumeId));
        // Subscribe, then replay the current map: Observe ignores versions it already holds, so nothing falls between.
        gateway.mirror.Changed += changed => gateway.Reservations.Observe(changed.Version, MetaPersistentReservations.StateOf(changed, volumeId));
        map = gateway.mirror.Current;
        gateway.Reservations.Observe(map.Version, MetaPersistentReservations.StateOf(map, volumeId));
        // Removable with the shared medium, as a cluster gateway builds a unit of a `removable` target: nothing changes
        // for the reservation tests (the medium stays loaded unless a test ejects it).
        gateway.Unit = new LogicalUnit(new MemoryBlockDevice(8L << 20), new LogicalUnitIdentity(Guid.Parse(volumeId)), reservations: gateway.Reservations,
            removable: true, medium: gateway.Reservations.Medium);
        gateway.Reservations.Attach(gateway.Unit.UnitAttentions);
        gateway.Target.AddLogicalUnit(0, gateway.Unit);
        gateway.heartbeats = gateway.HeartbeatLoopAsync(gateway.stopping.Token);
        return gateway;
    }

    /// <summary>An I_T nexus through this gateway's port.</summary>
    public ITNexus Nexus(string initiator, ulong isid)
    {
        var nexus = new ITNexus(initiator, isid, "iqn.2026-11.io.sds:pr", RelativePort, RelativePort, RelativePort);
        Target.NexusCreated(nexus);
        return nexus;
    }

    /// <summary>Runs one CDB through the dispatcher, as the iSCSI layer does.</summary>
    public async Task<ScsiTask> RunAsync(ITNexus nexus, byte[] cdb, byte[]? dataOut = null, int expectedLength = 4096)
    {
        var task = new ScsiTask();
        task.Reset();
        task.SetCdb(cdb);
        task.Nexus = nexus;
        task.Lun = LunAddress.ToWire(0);
        task.ExpectedDataTransferLength = (uint)(dataOut?.Length ?? expectedLength);
        if (dataOut is not null)
        {
            task.Direction = DataDirection.Write;
            task.DataOut = dataOut;
        }
        else
        {
            task.Direction = DataDirection.Read;
            task.DataIn = new byte[expectedLength];
        }
        await Target.ExecuteAsync(task);
        return task;
    }

    /// <summary>This gateway loses meta: no more heartbeats (so no lease renewal) and no more map events.</summary>
    public async Task CutFromMetaAsync()
    {
        stopping.Cancel();
        if (heartbeats is not null) await heartbeats;
        if (mirror is not null) await mirror.DisposeAsync();
        mirror = null;
    }

    public async ValueTask DisposeAsync()
    {
        await CutFromMetaAsync();
        client?.Dispose();
        Unit?.Device.Dispose();
    }

    // The gateway role's loop in miniature: report the applied version, renew the lease from the send time, ask the
    // mirror to resync when meta is ahead, and heartbeat at once when a reservation change was applied.
    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            long sentAt = Lease.BeginHeartbeat();
            var request = new Wire.HeartbeatRequest { NodeId = NodeId, Sequence = ++sequence, AppliedClusterMapVersion = Reservations.MirrorVersion };
            try
            {
                Wire.HeartbeatResponse response = await client!.ClusterAsync((c, h, d, t) => c.HeartbeatAsync(request, h, d, t), cancellationToken);
                Lease.Renewed(sentAt, response.LeaseDurationMs);
            }
            catch (RpcException)
            {
                // meta unreachable: the lease runs out by itself
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                await Lease.HeartbeatDueAsync(HeartbeatInterval, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The adapter the gateway role writes: MetaClient (leader hints, failover, one request id per call).</summary>
    private sealed class MetaClientReservations(MetaClient client) : IReservationMeta
    {
        public Task<Wire.UpdateReservationResponse> UpdateReservationAsync(Wire.UpdateReservationRequest request, CancellationToken cancellationToken) =>
            client.ClusterAsync((c, h, d, t) => c.UpdateReservationAsync(request, h, d, t), cancellationToken);
    }
}
