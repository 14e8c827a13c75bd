using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Sds.Meta.Bench;
using Sds.Meta.Client;
using Sds.Meta.Host;
using Sds.Meta.State;
using Sds.Proto.V1;

// A 3-member meta group in this process, each member with its own synced FileRaftLogStorage under /tmp and
// its own GrpcServer; Raft messages go over gRPC on loopback (raft-transport). Cases:
//   propose xN   : MetaNode.ProposeAsync on the leader with N proposals in flight (commit = quorum fsync + apply)
//   api create xN: Management.CreateVolume through the gRPC API (MetaClient) with N calls in flight
// Each case warms up for 1 s, then measures for the given seconds (default 4; 4 cases ≈ 20 s).
double seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 4;
string root = Path.Combine(Path.GetTempPath(), "sds-meta-bench-" + Guid.NewGuid().ToString("N"));
var peers = new Dictionary<ulong, string>();
for (ulong id = 1; id <= 3; id++) peers[id] = $"127.0.0.1:{FreePort()}";
var servers = new List<MetaServer>();
try
{
    foreach (ulong id in peers.Keys)
    {
        servers.Add(await MetaServer.StartAsync(new MetaServerOptions
        {
            Id = id,
            Peers = peers,
            Node = new MetaNodeOptions { Id = id, Voters = [1, 2, 3], DataDirectory = Path.Combine(root, id.ToString(CultureInfo.InvariantCulture)) },
        }, null, CancellationToken.None));
    }

    MetaServer leader = await WaitForLeader(servers);
    Console.WriteLine($"meta bench: 3 members on loopback, synced file logs under {root}, leader {leader.Node.Id}, {Environment.ProcessorCount} cores");
    Console.WriteLine($"{"case",-18}{"commits/s",12}{"p50 ms",10}{"p99 ms",10}{"max ms",10}");
    int sequence = 0;
    foreach (int inFlight in new[] { 1, 64 })
    {
        await Run($"propose x{inFlight}", inFlight, async () =>
        {
            var command = new MetaCommand { CreateVolume = new CreateVolumeCommand { Request = new CreateVolumeRequest { Name = $"p{Interlocked.Increment(ref sequence)}", SizeBytes = 1 << 20 }, VolumeId = Guid.NewGuid().ToString() } };
            MetaResult<CommandOutcome> result = await leader.Node.ProposeAsync(command, CancellationToken.None);
            return result.Status == MetaCallStatus.Ok && result.Value.IsOk;
        });
    }

    using var client = new MetaClient(peers.Values);
    foreach (int inFlight in new[] { 1, 16 })
    {
        await Run($"api create x{inFlight}", inFlight, async () =>
        {
            var request = new CreateVolumeRequest { Name = $"a{Interlocked.Increment(ref sequence)}", SizeBytes = 1 << 20 };
            await client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(request, h, d, t));
            return true;
        });
    }
}
finally
{
    foreach (MetaServer server in servers) await server.DisposeAsync();
    try
    {
        Directory.Delete(root, recursive: true);
    }
    catch (IOException)
    {
    }
}

async Task Run(string name, int inFlight, Func<Task<bool>> operation)
{
    await Measure(inFlight, TimeSpan.FromSeconds(1), operation, null);
    var samples = new LatencySamples();
    long started = Stopwatch.GetTimestamp();
    await Measure(inFlight, TimeSpan.FromSeconds(seconds), operation, samples);
    double elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
    (double p50, double p99, double max) = samples.Summarize();
    Console.WriteLine($"{name,-18}{samples.Count / elapsed,12:0}{p50,10:0.00}{p99,10:0.00}{max,10:0.00}");
}

static async Task Measure(int inFlight, TimeSpan duration, Func<Task<bool>> operation, LatencySamples? samples)
{
    long end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
    var workers = new Task[inFlight];
    for (int w = 0; w < inFlight; w++)
    {
        workers[w] = Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < end)
            {
                long start = Stopwatch.GetTimestamp();
                if (await operation()) samples?.Record(Stopwatch.GetTimestamp() - start);
            }
        });
    }

    await Task.WhenAll(workers);
}

static async Task<MetaServer> WaitForLeader(List<MetaServer> servers)
{
    for (int attempt = 0; attempt < 300; attempt++)
    {
        MetaServer? leader = servers.FirstOrDefault(s => s.Node.LeaderId == s.Node.Id);
        if (leader is not null && leader.Node.AppliedIndex >= 2) return leader;
        await Task.Delay(50);
    }

    throw new TimeoutException("no meta leader within 15 s");
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
