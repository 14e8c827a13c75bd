using Grpc.Core;
using Sds.Conformance.Tests.Otlp.Metrics;
using Sds.Conformance.Tests.Otlp.Trace;
using Sds.Rpc;

namespace Sds.Conformance.Tests.Otlp;

/// <summary>
/// An OTLP/gRPC receiver for tests: the TraceService and MetricsService of the OpenTelemetry collector protocol on
/// a free loopback port (our rpc/ server; the exporter under test is the OpenTelemetry .NET SDK's own client).
/// Keeps every span with the <c>service.instance.id</c> of the process that sent it.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly GrpcServer server;
    private readonly List<ReceivedSpan> spans = [];
    private readonly HashSet<(string Service, string Metric)> metrics = [];

    private OtlpReceiver(GrpcServer server) => this.server = server;

    /// <summary>The endpoint for OTEL_EXPORTER_OTLP_ENDPOINT.</summary>
    public string Endpoint => server.Addresses[0].ToString().TrimEnd('/');

    /// <summary>Starts a receiver.</summary>
    public static async Task<OtlpReceiver> StartAsync()
    {
        var server = new GrpcServer(new GrpcServerOptions { Endpoints = { "127.0.0.1:0" } });
        var receiver = new OtlpReceiver(server);
        server.AddService(TraceService.BindService(new TraceHandler(receiver)));
        server.AddService(MetricsService.BindService(new MetricsHandler(receiver)));
        await server.StartAsync(CancellationToken.None);
        return receiver;
    }

    /// <summary>Every span received so far.</summary>
    public IReadOnlyList<ReceivedSpan> Spans
    {
        get { lock (spans) return spans.ToList(); }
    }

    /// <summary>(service.instance.id, metric name) pairs received so far.</summary>
    public IReadOnlyCollection<(string Service, string Metric)> Metrics
    {
        get { lock (metrics) return metrics.ToList(); }
    }

    /// <summary>Polls until <paramref name="done"/> holds over the spans or the deadline passes; returns the spans.</summary>
    public async Task<IReadOnlyList<ReceivedSpan>> WaitForSpansAsync(Func<IReadOnlyList<ReceivedSpan>, bool> done, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            IReadOnlyList<ReceivedSpan> now = Spans;
            if (done(now) || DateTime.UtcNow > deadline) return now;
            await Task.Delay(100);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => server.DisposeAsync();

    private static string Attribute(Resource? resource, string key) =>
        resource?.Attributes.FirstOrDefault(a => a.Key == key)?.Value?.StringValue ?? "";

    private static string Text(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => "",
    };

    private sealed class TraceHandler(OtlpReceiver receiver) : TraceService.TraceServiceBase
    {
        public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
        {
            lock (receiver.spans)
            {
                foreach (ResourceSpans resource in request.ResourceSpans)
                {
                    string instance = Attribute(resource.Resource, "service.instance.id");
                    string service = Attribute(resource.Resource, "service.name");
                    foreach (ScopeSpans scope in resource.ScopeSpans)
                    {
                        foreach (Span span in scope.Spans)
                        {
                            receiver.spans.Add(new ReceivedSpan(service, instance, scope.Scope?.Name ?? "", span.Name, Convert.ToHexStringLower(span.TraceId.Span),
                                Convert.ToHexStringLower(span.SpanId.Span), Convert.ToHexStringLower(span.ParentSpanId.Span), span.Kind,
                                span.Attributes.ToDictionary(a => a.Key, a => Text(a.Value))));
                        }
                    }
                }
            }

            return Task.FromResult(new ExportTraceServiceResponse());
        }
    }

    private sealed class MetricsHandler(OtlpReceiver receiver) : MetricsService.MetricsServiceBase
    {
        public override Task<ExportMetricsServiceResponse> Export(ExportMetricsServiceRequest request, ServerCallContext context)
        {
            lock (receiver.metrics)
            {
                foreach (ResourceMetrics resource in request.ResourceMetrics)
                {
                    string instance = Attribute(resource.Resource, "service.instance.id");
                    foreach (ScopeMetrics scope in resource.ScopeMetrics)
                    {
                        foreach (Metric metric in scope.Metrics) receiver.metrics.Add((instance, metric.Name));
                    }
                }
            }

            return Task.FromResult(new ExportMetricsServiceResponse());
        }
    }
}

/// <summary>One span as received: who sent it, its name, ids (lower-case hex; parent empty for a root) and kind.</summary>
public sealed record ReceivedSpan(string Service, string Instance, string Scope, string Name, string TraceId, string SpanId, string ParentSpanId, int Kind,
    IReadOnlyDictionary<string, string> Attributes);
