using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Sds.Cli;

/// <summary>
/// OpenTelemetry export for every role (DESIGN.md §8). Off unless <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the
/// OpenTelemetry standard variable; <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> = <c>grpc</c> (default) or
/// <c>http/protobuf</c>). Every <c>Sds.*</c> ActivitySource and Meter is exported: Sds.Gateway, Sds.Storage,
/// Sds.Raft, Sds.Meta, Sds.Rpc. Sampling is parent-based with a root ratio from <c>SDS_TRACE_SAMPLE_RATIO</c>
/// (default 1.0; e.g. 0.01 in production keeps the hot path cheap: an unsampled command creates no span objects,
/// since each component checks <see cref="ActivitySource.HasListeners"/> and the sampler says no first).
/// </summary>
internal static class Telemetry
{
    /// <summary>The environment variable naming the OTLP endpoint.</summary>
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The environment variable holding the root sampling ratio.</summary>
    public const string SampleRatioVariable = "SDS_TRACE_SAMPLE_RATIO";

    /// <summary>
    /// Starts the exporters when an endpoint is configured; the result flushes and stops them when disposed.
    /// <paramref name="role"/> and <paramref name="instance"/> become <c>service.name</c> = <c>sds-ROLE</c> and
    /// <c>service.instance.id</c>.
    /// </summary>
    public static IDisposable Start(string role, string instance)
    {
        string? endpoint = Environment.GetEnvironmentVariable(EndpointVariable);
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return NoExport.Instance;
        }

        double ratio = 1.0;
        if (Environment.GetEnvironmentVariable(SampleRatioVariable) is { Length: > 0 } text
            && double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double parsed)
            && parsed is >= 0 and <= 1)
        {
            ratio = parsed;
        }

        OtlpExportProtocol protocol = Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_PROTOCOL") is "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        ResourceBuilder resource = ResourceBuilder.CreateEmpty().AddService("sds-" + role, serviceVersion: typeof(Telemetry).Assembly.GetName().Version?.ToString(), serviceInstanceId: instance);
        TracerProvider tracing = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource("Sds.*")
            .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio)))
            .AddOtlpExporter(o => Configure(o, endpoint, protocol, "/v1/traces"))
            .Build();
        // OTEL_METRIC_EXPORT_INTERVAL (ms) is the standard knob; read here so the default is ours (10 s).
        int interval = int.TryParse(Environment.GetEnvironmentVariable("OTEL_METRIC_EXPORT_INTERVAL"), out int ms) && ms > 0 ? ms : 10_000;
        MeterProvider metrics = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter("Sds.*")
            .AddOtlpExporter((o, reader) =>
            {
                Configure(o, endpoint, protocol, "/v1/metrics");
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval;
            })
            .Build();
        return new Export(tracing, metrics);
    }

    private static void Configure(OtlpExporterOptions options, string endpoint, OtlpExportProtocol protocol, string httpPath)
    {
        options.Protocol = protocol;
        // For http/protobuf the standard variable names the base URL; the signal path is appended (OTLP spec,
        // "Endpoint URLs for OTLP/HTTP"). gRPC uses the URL as it is.
        options.Endpoint = new Uri(protocol == OtlpExportProtocol.HttpProtobuf ? endpoint.TrimEnd('/') + httpPath : endpoint);
        options.ExportProcessorType = ExportProcessorType.Batch;
        options.BatchExportProcessorOptions = new BatchExportActivityProcessorOptions { ScheduledDelayMilliseconds = 500 };
    }

    /// <summary>Nothing to stop (a command that exports nothing).</summary>
    public static IDisposable None => NoExport.Instance;

    private sealed class NoExport : IDisposable
    {
        public static readonly NoExport Instance = new();

        public void Dispose()
        {
        }
    }

    private sealed class Export(TracerProvider tracing, MeterProvider metrics) : IDisposable
    {
        public void Dispose()
        {
            tracing.ForceFlush(5_000);
            metrics.ForceFlush(5_000);
            tracing.Dispose();
            metrics.Dispose();
        }
    }
}
