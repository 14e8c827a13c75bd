using System.Diagnostics;
using Sds.Conformance.Tests.Otlp;
using Sds.Proto.V1;
using Sds.Storage;
using Sds.Storage.Client;
using Sds.Storage.Placement;
using Xunit.Abstractions;
using Sds.Testing;

namespace Sds.Conformance.Tests;

/// <summary>
/// OpenTelemetry export (DESIGN.md §8) from real <c>sds</c> processes to an OTLP/gRPC receiver in the test:
/// a SCSI WRITE through the gateway is a server span of its own trace, gateway metrics arrive, and a storage
/// write is one trace from the client span through the PG leader's span to the apply span on every replica.
/// </summary>
public sealed class TelemetryTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static Dictionary<string, string> ExportTo(OtlpReceiver receiver) => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
        ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
    };

    [ToolFact("qemu-io")]
    public async Task ScsiWriteIsAServerSpanAndGatewayMetricsAreExported()
    {
        await using OtlpReceiver receiver = await OtlpReceiver.StartAsync();
        await using SdsServer server = await SdsServer.StartAsync(ExportTo(receiver), 1);
        Tools.Result write = await Tools.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 4096 65536", server.DemoUrl()], TimeSpan.FromSeconds(60));
        Assert.True(write.ExitCode == 0, write.StandardError + write.StandardOutput);

        IReadOnlyList<ReceivedSpan> spans = await receiver.WaitForSpansAsync(s => s.Any(IsScsiWrite), Wait);
        ReceivedSpan scsiWrite = Assert.Single(spans.Where(IsScsiWrite).Take(1));
        output.WriteLine($"{scsiWrite.Name} trace {scsiWrite.TraceId} span {scsiWrite.SpanId} from {scsiWrite.Service}/{scsiWrite.Instance}; {spans.Count} spans in all");
        Assert.Equal("sds-server", scsiWrite.Service);
        Assert.Equal("Sds.Gateway", scsiWrite.Scope);
        Assert.Equal(2, scsiWrite.Kind); // SPAN_KIND_SERVER: the command arrived from the initiator
        Assert.Equal("", scsiWrite.ParentSpanId); // the root of the command's trace
        Assert.Equal("0", scsiWrite.Attributes["scsi.status"]); // GOOD

        DateTime deadline = DateTime.UtcNow + Wait;
        while (!receiver.Metrics.Any(m => m.Metric == "sds.gateway.scsi.commands") && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.Contains(receiver.Metrics, m => m.Metric == "sds.gateway.scsi.commands");
        Assert.Contains(receiver.Metrics, m => m.Metric == "sds.gateway.scsi.duration");

        static bool IsScsiWrite(ReceivedSpan span) => span.Name.StartsWith("SCSI WRITE", StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue #7: one SCSI WRITE through a gateway of the local cluster is one trace — the gateway's command span,
    /// its Storage.Io client span, the PG leader's server span and the apply span on every replica.
    /// </summary>
    [ToolFact("qemu-io", "iscsi-inq")]
    public async Task ScsiWriteThroughTheClusterIsOneTraceAcrossEveryHop()
    {
        await using OtlpReceiver receiver = await OtlpReceiver.StartAsync();
        await using Cluster.LocalCluster cluster = await Cluster.LocalCluster.StartAsync(ExportTo(receiver));
        Tools.Result write = new(1, "", "", false);
        for (DateTime until = DateTime.UtcNow + TimeSpan.FromMinutes(2); DateTime.UtcNow < until;)
        {
            // One 4 KiB write inside one chunk: exactly one storage request per attempt.
            write = await Tools.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0x7e 8192 4096", cluster.Urls[0]], TimeSpan.FromMinutes(1));
            if (write.ExitCode == 0 && !write.StandardOutput.Contains("error", StringComparison.OrdinalIgnoreCase)) break;
            await Task.Delay(1000);
        }

        Assert.True(write.ExitCode == 0, write.StandardOutput + write.StandardError);
        IReadOnlyList<ReceivedSpan> spans = await receiver.WaitForSpansAsync(s => CompleteTrace(s) is not null, Wait);
        List<ReceivedSpan>? trace = CompleteTrace(spans);
        Assert.True(trace is not null, "a SCSI WRITE trace with gateway, client, leader and three apply spans: " +
            string.Join("; ", spans.Where(s => s.Name.StartsWith("SCSI WRITE", StringComparison.Ordinal) || s.Scope == "Sds.Storage").Select(s => $"{s.Instance}:{s.Name}:{s.TraceId[..8]}")));
        foreach (ReceivedSpan s in trace!) output.WriteLine($"{s.Instance,-12} {s.Name,-22} span {s.SpanId} parent {s.ParentSpanId}");

        // A trace whose root is the gateway's SCSI WRITE span, with the storage client span under it, a served
        // attempt under that, and an apply span on three distinct replicas under the serving leader's span.
        static List<ReceivedSpan>? CompleteTrace(IReadOnlyList<ReceivedSpan> all)
        {
            foreach (ReceivedSpan root in all.Where(s => s.Name.StartsWith("SCSI WRITE", StringComparison.Ordinal) && s.Service == "sds-gateway" && s.ParentSpanId == ""))
            {
                List<ReceivedSpan> trace = all.Where(s => s.TraceId == root.TraceId).ToList();
                ReceivedSpan? client = trace.FirstOrDefault(s => s.Name == "Storage.Io write" && s.Kind == 3 && s.ParentSpanId == root.SpanId && s.Instance == root.Instance);
                if (client is null) continue;
                foreach (ReceivedSpan leader in trace.Where(s => s.Name == "Storage.Io write" && s.Kind == 2 && s.ParentSpanId == client.SpanId))
                {
                    List<ReceivedSpan> applies = trace.Where(s => s.Name == "PG apply" && s.ParentSpanId == leader.SpanId).ToList();
                    if (applies.Select(a => a.Instance).Distinct().Count() >= 3) return [root, client, leader, .. applies];
                }
            }

            return null;
        }
    }

    [Fact]
    public async Task StorageWriteIsOneTraceFromClientToEveryReplica()
    {
        await using OtlpReceiver receiver = await OtlpReceiver.StartAsync();
        var peers = new Dictionary<ulong, string>();
        for (ulong id = 1; id <= 3; id++) peers[id] = $"127.0.0.1:{TestPorts.Free()}";
        string root = Path.Combine(Path.GetTempPath(), "sds-otel-storage-" + Guid.NewGuid().ToString("N"));
        var nodes = new List<Process>();
        try
        {
            string peerList = string.Join(',', peers.Select(p => $"{p.Key}={p.Value}"));
            foreach ((ulong id, string address) in peers)
            {
                var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (string a in new[] { SdsServer.SdsDll(), "storage", "--id", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--listen", address, "--data", Path.Combine(root, $"n{id}"), "--peers", peerList, "--pgs", "4", "--replicas", "3", "--tick-ms", "50" })
                    info.ArgumentList.Add(a);
                foreach ((string name, string value) in ExportTo(receiver)) info.Environment[name] = value;
                Process node = Process.Start(info)!;
                node.OutputDataReceived += (_, _) => { };
                node.ErrorDataReceived += (_, _) => { };
                node.BeginOutputReadLine();
                node.BeginErrorReadLine();
                nodes.Add(node);
            }

            // The test process is the client: it samples its own Storage.Io client span.
            var clientSpans = new List<Activity>();
            using var listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == StorageTelemetry.Name,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity => { lock (clientSpans) clientSpans.Add(activity); },
            };
            ActivitySource.AddActivityListener(listener);
            await using var client = new StorageClient(new StaticPlacementSource(peers, 4, 3));
            var volume = Guid.NewGuid();
            byte[] data = new byte[4096];
            Random.Shared.NextBytes(data);
            IoStatus status = new();
            for (DateTime until = DateTime.UtcNow + TimeSpan.FromSeconds(60); DateTime.UtcNow < until;)
            {
                status = await client.WriteAsync(volume, 0, 8192, data);
                if (status.Code == IoStatusCode.Ok) break;
                await Task.Delay(200);
            }

            Assert.Equal(IoStatusCode.Ok, status.Code);
            Activity clientSpan;
            lock (clientSpans) clientSpan = clientSpans.Last(a => a.DisplayName == "Storage.Io write");
            string traceId = clientSpan.TraceId.ToHexString();
            string clientSpanId = clientSpan.SpanId.ToHexString();

            IReadOnlyList<ReceivedSpan> spans = await receiver.WaitForSpansAsync(
                s => s.Count(x => x.TraceId == traceId && x.Name == "PG apply") >= 3, Wait);
            List<ReceivedSpan> trace = spans.Where(s => s.TraceId == traceId).ToList();
            foreach (ReceivedSpan s in trace) output.WriteLine($"{s.Instance,-12} {s.Name,-20} span {s.SpanId} parent {s.ParentSpanId}");
            // Every attempt (the first ones may meet an election: NOT_LEADER) is a server span under the client's span.
            List<ReceivedSpan> served = trace.Where(s => s.Name == "Storage.Io write").ToList();
            Assert.All(served, s => Assert.Equal((2, clientSpanId), (s.Kind, s.ParentSpanId)));
            List<ReceivedSpan> applies = trace.Where(s => s.Name == "PG apply").ToList();
            // Each replica's apply hangs off the span of the leader that proposed the entry.
            ReceivedSpan leader = Assert.Single(served, s => s.SpanId == applies[0].ParentSpanId);
            Assert.All(applies, a => Assert.Equal(leader.SpanId, a.ParentSpanId));
            Assert.Equal(3, applies.Select(a => a.Instance).Distinct().Count()); // leader and both followers
            Assert.Contains(leader.Instance, applies.Select(a => a.Instance));
        }
        finally
        {
            foreach (Process node in nodes)
            {
                try
                {
                    node.Kill();
                    await node.WaitForExitAsync();
                }
                catch (InvalidOperationException)
                {
                }

                node.Dispose();
            }

            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
