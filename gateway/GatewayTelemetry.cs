using System.Diagnostics;
using System.Diagnostics.Metrics;
using Sds.Gateway.Scsi;

namespace Sds.Gateway;

/// <summary>
/// The gateway's ActivitySource and Meter, both named <c>Sds.Gateway</c> (DESIGN.md §8): one span per SCSI
/// command (the root of its trace on the target side), and commands, bytes, latency per op class and the
/// number of commands in execution. When nobody listens, <see cref="Observed"/> is false and the dispatcher takes
/// the plain path: no timestamp, no span, no allocation.
/// </summary>
internal static class GatewayTelemetry
{
    /// <summary>Name of the source and the meter.</summary>
    public const string Name = "Sds.Gateway";

    /// <summary>Spans of SCSI commands.</summary>
    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    private static readonly Counter<long> Commands = Meter.CreateCounter<long>("sds.gateway.scsi.commands", "{command}", "SCSI commands executed, by op class and status.");

    private static readonly Counter<long> Bytes = Meter.CreateCounter<long>("sds.gateway.scsi.bytes", "By", "Data bytes moved by SCSI commands, by direction.");

    private static readonly Histogram<double> Latency = Meter.CreateHistogram<double>("sds.gateway.scsi.duration", "ms", "SCSI command execution time (dispatch to status), by op class.");

    private static readonly UpDownCounter<long> InExecution = Meter.CreateUpDownCounter<long>("sds.gateway.scsi.in_execution", "{command}", "SCSI commands being executed (queue depth at the device).");

    /// <summary>True when a span or a metric wants this command.</summary>
    public static bool Observed => Source.HasListeners() || Latency.Enabled || Commands.Enabled;

    /// <summary>Counts a command as started (queue depth).</summary>
    public static void CommandStarted()
    {
        if (InExecution.Enabled) InExecution.Add(1);
    }

    /// <summary>Records a finished command.</summary>
    public static void CommandDone(CommandDescriptor? command, ScsiTask task, TimeSpan elapsed)
    {
        if (InExecution.Enabled) InExecution.Add(-1);
        string opClass = OpClass(command);
        var op = new KeyValuePair<string, object?>("op", opClass);
        if (Latency.Enabled) Latency.Record(elapsed.TotalMilliseconds, op);
        if (Commands.Enabled) Commands.Add(1, op, new KeyValuePair<string, object?>("status", StatusName(task.Status)));
        if (Bytes.Enabled)
        {
            if (task.DataInLength > 0) Bytes.Add(task.DataInLength, new KeyValuePair<string, object?>("direction", "in"));
            if (task.Direction == DataDirection.Write && task.DataOut.Length > 0) Bytes.Add(task.DataOut.Length, new KeyValuePair<string, object?>("direction", "out"));
        }
    }

    // Op classes, not opcodes: a small fixed tag set keeps the metric cardinality bounded.
    private static string OpClass(CommandDescriptor? command) => command?.Opcode switch
    {
        ScsiOpcode.Read6 or ScsiOpcode.Read10 or ScsiOpcode.Read12 or ScsiOpcode.Read16 => "read",
        ScsiOpcode.Write6 or ScsiOpcode.Write10 or ScsiOpcode.Write12 or ScsiOpcode.Write16 => "write",
        _ => "other",
    };

    private static string StatusName(ScsiStatus status) => status switch
    {
        ScsiStatus.Good => "good",
        ScsiStatus.CheckCondition => "check_condition",
        ScsiStatus.ReservationConflict => "reservation_conflict",
        ScsiStatus.Busy => "busy",
        _ => "other",
    };
}
