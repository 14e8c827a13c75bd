using System.Diagnostics;

namespace Sds.Rpc.Tracing;

/// <summary>
/// W3C trace context over gRPC metadata (DESIGN.md §8): the client injects <c>traceparent</c>/<c>tracestate</c>
/// from its span, the server starts its span as that span's child, so one trace crosses every hop.
/// </summary>
internal static class RpcTracing
{
    /// <summary>The name of the RPC layer's ActivitySource.</summary>
    public const string SourceName = "Sds.Rpc";

    /// <summary>The RPC layer's ActivitySource; spans are only created when someone listens.</summary>
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts the client span of a call, or returns null when nobody listens.</summary>
    public static Activity? StartClient(string fullMethodName)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(fullMethodName, ActivityKind.Client);
        activity?.SetTag("rpc.system", "grpc");
        return activity;
    }

    /// <summary>Starts the server span of a call as a child of the caller's span if the headers carry one.</summary>
    public static Activity? StartServer(string fullMethodName, string? traceParent, string? traceState)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        Activity? activity;
        if (traceParent is not null && ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var parent))
        {
            activity = Source.StartActivity(fullMethodName, ActivityKind.Server, parent);
        }
        else
        {
            activity = Source.StartActivity(fullMethodName, ActivityKind.Server);
        }

        activity?.SetTag("rpc.system", "grpc");
        return activity;
    }

    /// <summary>The traceparent of an activity in W3C form, or null when it has no W3C identity.</summary>
    public static string? TraceParentOf(Activity activity)
    {
        if (activity.IdFormat != ActivityIdFormat.W3C)
        {
            return null;
        }

        // Activity.Id of a W3C activity is exactly "00-<trace-id>-<span-id>-<flags>".
        return activity.Id;
    }
}
