using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Sds.Storage;

/// <summary>
/// The storage node's ActivitySource and Meter, both named <c>Sds.Storage</c> (DESIGN.md §8). A command's trace
/// runs client span (StorageClient, the gateway side) → leader span (the Io request) → apply span on every
/// replica, the leader's included; the context reaches followers inside the Raft entry (PgCommand), since one
/// replication message carries entries of many traces. Nothing is created unless a listener samples it.
/// </summary>
public static class StorageTelemetry
{
    /// <summary>Name of the source and the meter.</summary>
    public const string Name = "Sds.Storage";

    /// <summary>Spans of the storage path.</summary>
    public static readonly ActivitySource Source = new(Name);

    internal static readonly Meter Meter = new(Name);

    /// <summary>Io requests served, by op.</summary>
    internal static readonly Counter<long> Requests = Meter.CreateCounter<long>("sds.storage.io.requests", "{request}", "Storage.Io requests served by this node, by op.");

    /// <summary>Bytes written or read, by op.</summary>
    internal static readonly Counter<long> Bytes = Meter.CreateCounter<long>("sds.storage.io.bytes", "By", "Payload bytes of Storage.Io requests served, by op.");

    /// <summary>Io request latency at the serving node, by op.</summary>
    internal static readonly Histogram<double> Latency = Meter.CreateHistogram<double>("sds.storage.io.duration", "ms", "Storage.Io request latency at the serving node, by op.");

    /// <summary>Raft commit latency: proposal to applied on the leader.</summary>
    internal static readonly Histogram<double> CommitLatency = Meter.CreateHistogram<double>("sds.storage.raft.commit.duration", "ms", "PG proposal to apply on the leader.");

    /// <summary>True when a span or a metric of the serving side wants the request.</summary>
    internal static bool Observed => Source.HasListeners() || Latency.Enabled || Requests.Enabled || Bytes.Enabled;

    /// <summary>A constant name per op (span names and metric tags without allocating).</summary>
    public static string OpName(Sds.Proto.V1.IoRequest.OpOneofCase op) => op switch
    {
        Sds.Proto.V1.IoRequest.OpOneofCase.Read => "read",
        Sds.Proto.V1.IoRequest.OpOneofCase.Write => "write",
        Sds.Proto.V1.IoRequest.OpOneofCase.WriteSame => "write_same",
        Sds.Proto.V1.IoRequest.OpOneofCase.Unmap => "unmap",
        Sds.Proto.V1.IoRequest.OpOneofCase.CompareAndWrite => "compare_and_write",
        Sds.Proto.V1.IoRequest.OpOneofCase.Flush => "flush",
        Sds.Proto.V1.IoRequest.OpOneofCase.GetLbaStatus => "get_lba_status",
        _ => "none",
    };

    /// <summary>The span name per op, constant (no concatenation per request).</summary>
    public static string SpanName(Sds.Proto.V1.IoRequest.OpOneofCase op) => op switch
    {
        Sds.Proto.V1.IoRequest.OpOneofCase.Read => "Storage.Io read",
        Sds.Proto.V1.IoRequest.OpOneofCase.Write => "Storage.Io write",
        Sds.Proto.V1.IoRequest.OpOneofCase.WriteSame => "Storage.Io write_same",
        Sds.Proto.V1.IoRequest.OpOneofCase.Unmap => "Storage.Io unmap",
        Sds.Proto.V1.IoRequest.OpOneofCase.CompareAndWrite => "Storage.Io compare_and_write",
        Sds.Proto.V1.IoRequest.OpOneofCase.Flush => "Storage.Io flush",
        Sds.Proto.V1.IoRequest.OpOneofCase.GetLbaStatus => "Storage.Io get_lba_status",
        _ => "Storage.Io",
    };

    /// <summary>The W3C traceparent of <paramref name="activity"/> when it is recorded, else empty (no allocation).</summary>
    public static string TraceParentOf(Activity? activity) =>
        activity is { Recorded: true, IdFormat: ActivityIdFormat.W3C } ? activity.Id ?? string.Empty : string.Empty;

    /// <summary>Starts a span that continues <paramref name="traceParent"/> (W3C), or null when nobody samples it.</summary>
    public static Activity? StartFrom(string name, ActivityKind kind, string traceParent)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        return traceParent.Length > 0 && ActivityContext.TryParse(traceParent, null, isRemote: true, out ActivityContext parent)
            ? Source.StartActivity(name, kind, parent)
            : Source.StartActivity(name, kind);
    }
}
