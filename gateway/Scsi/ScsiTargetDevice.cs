using System.Diagnostics;
using System.Runtime.CompilerServices;
using Sds.Gateway.Scsi.Reservations;
using SenseCatalog = Sds.Gateway.Scsi.Sense.Sense;

namespace Sds.Gateway.Scsi;

/// <summary>
/// The SCSI target device behind one iSCSI target (SAM-5 §4.6): a LUN → <see cref="LogicalUnit"/>
/// map and the dispatcher. <see cref="ExecuteAsync"/> is tgt's <c>scsi_cmd_perform</c>: it looks
/// the opcode up in the <see cref="CommandTable"/>, runs the shared checks once (LUN, CDB length,
/// CONTROL byte, unit attention, reservation conflict, write protect) and calls the handler.
/// </summary>
internal sealed class ScsiTargetDevice : IScsiTargetDevice
{
    private readonly Lock _gate = new();
    private readonly LogicalUnit _absent = LogicalUnit.CreateAbsent();
    private readonly HashSet<ITNexus> _nexuses = new();
    // Copy-on-write: readers index without locking; writers replace the array under _gate.
    private volatile LogicalUnit?[] _units = [];

    /// <summary>Creates a target device with no logical units.</summary>
    public ScsiTargetDevice(ITargetPortGroupProvider? portGroups = null)
    {
        PortGroups = portGroups ?? new NexusTargetPortGroupProvider();
        _absent.Target = this;
    }

    /// <summary>Source of the ALUA target port groups reported by REPORT TARGET PORT GROUPS.</summary>
    public ITargetPortGroupProvider PortGroups { get; }

    /// <summary>The command table every logical unit of this device dispatches through.</summary>
    public CommandTable Commands { get; } = CommandTable.DirectAccess;

    /// <summary>Adds <paramref name="unit"/> at <paramref name="lun"/>; false when the LUN is taken.</summary>
    public bool AddLogicalUnit(ushort lun, LogicalUnit unit)
    {
        Block.Invariant.Assert(lun <= LunAddress.LunMax, "LUN fits flat space addressing");
        Block.Invariant.Assert(unit.IsPresent && unit.Target is null, "a logical unit belongs to one target device");
        lock (_gate)
        {
            LogicalUnit?[] current = _units;
            if (lun < current.Length && current[lun] is not null) return false;
            var next = new LogicalUnit?[Math.Max(current.Length, lun + 1)];
            current.CopyTo(next, 0);
            unit.Lun = lun;
            unit.Target = this;
            next[lun] = unit;
            foreach (ITNexus nexus in _nexuses) unit.UnitAttentions.NexusCreated(nexus);
            _units = next;
            foreach (LogicalUnit? other in current)
                other?.UnitAttentions.EstablishForAll(SenseCatalog.ReportedLunsDataChanged);
            return true;
        }
    }

    /// <summary>Looks up the logical unit at <paramref name="lun"/>.</summary>
    public LogicalUnit? GetLogicalUnit(ushort lun)
    {
        LogicalUnit?[] units = _units;
        return lun < units.Length ? units[lun] : null;
    }

    /// <summary>Every logical unit, in LUN order (REPORT LUNS, EXTENDED COPY target lookup).</summary>
    public IEnumerable<LogicalUnit> LogicalUnits
    {
        get
        {
            foreach (LogicalUnit? unit in _units)
                if (unit is not null) yield return unit;
        }
    }

    /// <inheritdoc />
    public ValueTask ExecuteAsync(ScsiTask task) =>
        GatewayTelemetry.Observed ? ExecuteObservedAsync(task) : ExecuteCore(task);

    /// <summary>
    /// A command under a span and the gateway's metrics (DESIGN.md §8): the span is the root of the command's
    /// trace on this side, so the block device's storage calls become its children through Activity.Current.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ExecuteObservedAsync(ScsiTask task)
    {
        CommandDescriptor? command = task.CdbLength > 0 ? Commands[task.Cdb[0]] : null;
        long started = Stopwatch.GetTimestamp();
        GatewayTelemetry.CommandStarted();
        using Activity? activity = GatewayTelemetry.Source.StartActivity(command?.SpanName ?? "SCSI", ActivityKind.Server);
        if (activity is not null)
        {
            activity.SetTag("scsi.lun", task.Lun);
            activity.SetTag("iscsi.initiator", task.Nexus?.InitiatorName);
        }

        try
        {
            await ExecuteCore(task).ConfigureAwait(false);
            activity?.SetTag("scsi.status", (int)task.Status);
        }
        finally
        {
            GatewayTelemetry.CommandDone(command, task, Stopwatch.GetElapsedTime(started));
        }
    }

    private ValueTask ExecuteCore(ScsiTask task)
    {
        Block.Invariant.Assert(task.Nexus is not null, "the transport names the I_T nexus of every command");
        task.Status = ScsiStatus.Good;
        task.DataInLength = 0;
        task.CdbTransferLength = 0;
        if (task.CdbLength == 0)
        {
            task.CheckCondition(SenseCatalog.InvalidCommandOperationCode);
            return default;
        }
        CommandDescriptor command = Commands[task.Cdb[0]];
        if (command.ServiceActions is not null && task.CdbLength > 1)
        {
            CommandDescriptor? action = command.ServiceActions[task.Cdb[1] & 0x1F];
            if (action is not null) command = action;
        }

        LogicalUnit? unit = LunAddress.TryDecode(task.Lun, out ushort lun) ? GetLogicalUnit(lun) : null;
        if (unit is null)
        {
            if ((command.Flags & CommandFlags.ServedWithoutLogicalUnit) == 0)
            {
                task.CheckCondition(SenseCatalog.LogicalUnitNotSupported);
                return default;
            }
            unit = _absent;
        }

        if (!SharedChecks(command, unit, task)) return default;

        ValueTask<ScsiStatus> pending = command.Handler(unit, task);
        if (pending.IsCompletedSuccessfully)
        {
            Complete(task, pending.Result);
            return default;
        }
        return AwaitHandler(pending, task);
    }

    // The handler's half of the ScsiTask contract, checked on every command (STYLE: assert at exit).
    private static void Complete(ScsiTask task, ScsiStatus status)
    {
        Block.Invariant.Assert(task.DataInLength >= 0 && task.DataInLength <= task.DataIn.Length, "Data-In stays inside the buffer the transport sized to EDTL");
        Block.Invariant.Assert(status != ScsiStatus.CheckCondition || task.Sense.Key != Sense.SenseKey.NoSense, "CHECK CONDITION carries sense");
        task.Status = status;
    }

    /// <summary>
    /// The checks every command goes through before its handler (tgt <c>scsi_cmd_perform</c>);
    /// false when the task has been completed here.
    /// </summary>
    private static bool SharedChecks(CommandDescriptor command, LogicalUnit unit, ScsiTask task)
    {
        if (!command.IsSupported)
        {
            task.CheckCondition(SenseCatalog.InvalidCommandOperationCode);
            return false;
        }
        if (task.CdbLength < command.CdbLengthBytes)
        {
            task.CheckCondition(SenseCatalog.InvalidCommandOperationCode);
            return false;
        }
        // SAM-5 §5.2 CONTROL byte: NACA (bit 2) needs ACA support we do not offer; LINK (bit 0) is obsolete.
        int controlOffset = command.CdbLengthBytes - 1;
        if ((task.Cdb[controlOffset] & 0x05) != 0)
        {
            task.CheckCondition(SenseCatalog.InvalidFieldInCdbAt(controlOffset, (task.Cdb[controlOffset] & 0x04) != 0 ? 2 : 0));
            return false;
        }
        if (!unit.IsPresent) return true;
        if (command.DeviceSupports is not null && !command.DeviceSupports(unit.Device))
        {
            task.CheckCondition(SenseCatalog.InvalidCommandOperationCode);
            return false;
        }

        // SPC-4 r37 §5.14 (unit attention condition): report it on the first command that is not
        // INQUIRY, REPORT LUNS or REQUEST SENSE, and clear it.
        if ((command.Flags & CommandFlags.AllowedUnderUnitAttention) == 0 && unit.UnitAttentions.AnyPending
            && unit.UnitAttentions.TryTake(task.Nexus, out Sense.SenseData attention))
        {
            task.CheckCondition(attention);
            return false;
        }
        Reservations.ReservationCheck reservation = unit.Reservations.Check(task.Nexus, command);
        if (reservation != Reservations.ReservationCheck.Admit)
        {
            // DESIGN.md §6 lease rule: a gateway whose reservation copy may be stale answers 04h/0Ch, not a guess.
            if (reservation == Reservations.ReservationCheck.Conflict) task.Status = ScsiStatus.ReservationConflict;
            else task.CheckCondition(SenseCatalog.TargetPortUnavailable);
            return false;
        }
        // SBC-3 r36 §5.20 START STOP UNIT: while a removable medium is ejected, commands that access
        // it end in NOT READY, MEDIUM NOT PRESENT (checked after unit attention and reservation
        // conflict, which do not depend on the medium).
        if ((command.Flags & CommandFlags.AllowedWithoutMedium) == 0 && unit.Removable && !unit.Medium.Present)
        {
            task.CheckCondition(SenseCatalog.MediumNotPresent);
            return false;
        }
        // SBC-3 r36 §4.11 write protection: a read-only LU, or SWP set in the control mode page
        // (SPC-4 r37 §7.5.8).
        if ((command.Flags & CommandFlags.WritesMedium) != 0 && (unit.ReadOnly || unit.ModePages.SoftwareWriteProtect))
        {
            task.CheckCondition(SenseCatalog.WriteProtected);
            return false;
        }
        return true;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask AwaitHandler(ValueTask<ScsiStatus> pending, ScsiTask task)
    {
        Complete(task, await pending.ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async ValueTask<TaskManagementResponse> ExecuteTaskManagementAsync(TaskManagementFunction function, ITNexus nexus, ulong lun)
    {
        switch (function)
        {
            case TaskManagementFunction.AbortTask:
            case TaskManagementFunction.AbortTaskSet:
            case TaskManagementFunction.ClearTaskSet:
                return LunAddress.TryDecode(lun, out ushort abortLun) && GetLogicalUnit(abortLun) is not null
                    ? TaskManagementResponse.FunctionComplete
                    : TaskManagementResponse.LunDoesNotExist;
            case TaskManagementFunction.LogicalUnitReset:
            {
                if (!LunAddress.TryDecode(lun, out ushort resetLun) || GetLogicalUnit(resetLun) is not { } unit)
                    return TaskManagementResponse.LunDoesNotExist;
                ResetLogicalUnit(unit, SenseCatalog.BusDeviceResetOccurred);
                await unit.Reservations.ResetAsync(ResetScope.LogicalUnit).ConfigureAwait(false);
                return TaskManagementResponse.FunctionComplete;
            }
            case TaskManagementFunction.TargetWarmReset:
            case TaskManagementFunction.TargetColdReset:
            {
                var shared = new List<Task>();
                ResetScope scope = function == TaskManagementFunction.TargetColdReset ? ResetScope.TargetCold : ResetScope.TargetWarm;
                foreach (LogicalUnit unit in LogicalUnits)
                {
                    ResetLogicalUnit(unit, SenseCatalog.PowerOnResetOccurred);
                    shared.Add(unit.Reservations.ResetAsync(scope).AsTask());
                }
                await Task.WhenAll(shared).ConfigureAwait(false);
                return TaskManagementResponse.FunctionComplete;
            }
            case TaskManagementFunction.ClearAca:
            case TaskManagementFunction.TaskReassign:
            default:
                return TaskManagementResponse.FunctionNotSupported;
        }
    }

    // SAM-5 §6.3.3 logical unit reset: SPC-2 reservations are released, mode pages return to their
    // saved values, medium removal prevention ends (SBC-3 r36 §5.14), and every I_T nexus, the
    // requester's included, gets a unit attention. Persistent reservations survive (SPC-4 r37 §5.9.1).
    // These are this gateway's nexuses; the SPC-2 release and the other gateways' nexuses are
    // IPersistentReservations.ResetAsync's, which the caller awaits before answering.
    private static void ResetLogicalUnit(LogicalUnit unit, in Sense.SenseData condition)
    {
        unit.Medium.Reset();
        unit.ModePages.RestoreSaved();
        unit.UnitAttentions.EstablishForAll(condition, except: null, replacesPending: true);
    }

    /// <inheritdoc />
    public void NexusCreated(ITNexus nexus)
    {
        lock (_gate)
        {
            _nexuses.Add(nexus);
            foreach (LogicalUnit unit in LogicalUnits) unit.UnitAttentions.NexusCreated(nexus);
        }
    }

    /// <inheritdoc />
    public Task NexusLostAsync(ITNexus nexus)
    {
        List<Task>? shared = null;
        lock (_gate)
        {
            _nexuses.Remove(nexus);
            foreach (LogicalUnit unit in LogicalUnits)
            {
                unit.UnitAttentions.NexusLost(nexus);
                // SPC-2 §5.5.1: an I_T nexus loss releases that nexus's SPC-2 reservation (on a cluster
                // gateway a meta command, which the caller may wait for; it is started here, under the lock,
                // so it is ordered before a new nexus of the same initiator port begins).
                ValueTask released = unit.Reservations.NexusLostAsync(nexus);
                if (!released.IsCompletedSuccessfully) (shared ??= new List<Task>()).Add(released.AsTask());
                // SBC-3 r36 §5.14: and ends that nexus's prevention of medium removal (on a cluster gateway a
                // meta command when the nexus prevents it, awaited like the SPC-2 release).
                ValueTask allowed = unit.Medium.NexusLostAsync(nexus);
                if (!allowed.IsCompletedSuccessfully) (shared ??= new List<Task>()).Add(allowed.AsTask());
            }
        }
        return shared is null ? Task.CompletedTask : Task.WhenAll(shared);
    }
}
