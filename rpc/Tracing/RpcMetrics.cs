using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.Core;

namespace Sds.Rpc.Tracing;

/// <summary>
/// The RPC layer's Meter (DESIGN.md §8): call durations per method and status, client and server. Recording is
/// skipped entirely unless a listener enabled the instrument, and costs no allocation when it is on (the status
/// tag values are boxed once, here).
/// </summary>
internal static class RpcMetrics
{
    /// <summary>The name of the RPC layer's Meter.</summary>
    public const string MeterName = "Sds.Rpc";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Histogram<double> ClientDuration = Meter.CreateHistogram<double>("rpc.client.duration", "ms", "Duration of client calls, start to status.");

    private static readonly Histogram<double> ServerDuration = Meter.CreateHistogram<double>("rpc.server.duration", "ms", "Duration of server calls, headers to status.");

    private static readonly object[] BoxedStatusCodes = CreateBoxedStatusCodes();

    /// <summary>A start timestamp, or 0 when nobody listens (so the end costs nothing either).</summary>
    public static long ClientStart() => ClientDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>A start timestamp, or 0 when nobody listens.</summary>
    public static long ServerStart() => ServerDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Records a finished client call started at <paramref name="startTimestamp"/>.</summary>
    public static void ClientFinished(long startTimestamp, string method, StatusCode code) => Record(ClientDuration, startTimestamp, method, code);

    /// <summary>Records a finished server call started at <paramref name="startTimestamp"/>.</summary>
    public static void ServerFinished(long startTimestamp, string method, StatusCode code) => Record(ServerDuration, startTimestamp, method, code);

    private static void Record(Histogram<double> histogram, long startTimestamp, string method, StatusCode code)
    {
        if (startTimestamp == 0)
        {
            return;
        }

        var tags = new TagList
        {
            { "rpc.method", method },
            { "rpc.grpc.status_code", (int)code is >= 0 and <= 16 ? BoxedStatusCodes[(int)code] : (int)code },
        };
        histogram.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds, tags);
    }

    private static object[] CreateBoxedStatusCodes()
    {
        var boxed = new object[17];
        for (var i = 0; i < boxed.Length; i++)
        {
            boxed[i] = i;
        }

        return boxed;
    }
}
