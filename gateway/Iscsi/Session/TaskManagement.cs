using Sds.Gateway.Scsi;

namespace Sds.Gateway.Iscsi.Session;

/// <summary>
/// Task management functions (RFC 7143 §11.5, SAM-5 §7): the iSCSI layer aborts and drains the
/// affected commands (cancelling each <see cref="ScsiTask.CancellationToken"/>), then the SCSI
/// layer applies its side effects through <see cref="IScsiTargetDevice.ExecuteTaskManagementAsync"/>.
/// </summary>
internal static class TaskManagement
{
    /// <summary>Executes one function requested on <paramref name="connection"/>.</summary>
    public static async ValueTask<TaskManagementResponse> ExecuteAsync(IscsiConnection connection, TaskManagementFunction function, ulong lun, uint referencedTag, uint refCmdSN, uint cmdSN)
    {
        IscsiSession session = connection.Session!;
        ITNexus nexus = session.Nexus!;
        IScsiTargetDevice device = session.Target!.Device;
        switch (function)
        {
            case TaskManagementFunction.AbortTask:
                return await AbortTaskAsync(connection, session, referencedTag, refCmdSN, cmdSN).ConfigureAwait(false);
            case TaskManagementFunction.AbortTaskSet:
                await AbortAsync(connection, new List<IscsiSession> { session }, lun).ConfigureAwait(false);
                return await device.ExecuteTaskManagementAsync(function, nexus, lun).ConfigureAwait(false);
            case TaskManagementFunction.ClearTaskSet:
            case TaskManagementFunction.LogicalUnitReset:
                // SAM-5 §7.4/§7.6: every I_T nexus's tasks on the LU end.
                await AbortAsync(connection, connection.Server.Registry.SessionsOf(session.Target.Name), lun).ConfigureAwait(false);
                return await device.ExecuteTaskManagementAsync(function, nexus, lun).ConfigureAwait(false);
            case TaskManagementFunction.TargetWarmReset:
            case TaskManagementFunction.TargetColdReset:
                await AbortAsync(connection, connection.Server.Registry.SessionsOf(session.Target.Name), null).ConfigureAwait(false);
                return await device.ExecuteTaskManagementAsync(function, nexus, lun).ConfigureAwait(false);
            case TaskManagementFunction.ClearAca:
                return await device.ExecuteTaskManagementAsync(function, nexus, lun).ConfigureAwait(false);
            case TaskManagementFunction.TaskReassign:
                // RFC 7143 §11.5.1: task reassignment needs ErrorRecoveryLevel 2.
                return TaskManagementResponse.TaskReassignmentNotSupported;
            default:
                return TaskManagementResponse.FunctionNotSupported;
        }
    }

    private static async ValueTask<TaskManagementResponse> AbortTaskAsync(IscsiConnection connection, IscsiSession session, uint referencedTag, uint refCmdSN, uint cmdSN)
    {
        ScsiCommandContext? command = session.FindTask(referencedTag, out uint generation);
        if (command is null)
        {
            // RFC 7143 §11.5.1: a task never received, whose RefCmdSN is in the window and before
            // this request, is considered received (its CmdSN is consumed, so a late copy is
            // ignored) and the abort is "Function complete". A task received and already answered
            // no longer exists.
            if (!session.HasReceived(refCmdSN) && SerialNumber.LessThan(refCmdSN, cmdSN) && session.Admit(refCmdSN, immediate: false, command: null) == AdmitResult.Deliver)
            {
                return TaskManagementResponse.FunctionComplete;
            }
            return TaskManagementResponse.TaskDoesNotExist;
        }
        bool answered = await AbortAsync(connection, new List<(ScsiCommandContext, uint)> { (command, generation) }).ConfigureAwait(false);
        // A task whose response was already on its way completed normally: from the initiator's
        // view it no longer exists when the abort is answered (the response precedes this one).
        return answered ? TaskManagementResponse.TaskDoesNotExist : TaskManagementResponse.FunctionComplete;
    }

    private static Task<bool> AbortAsync(IscsiConnection connection, List<IscsiSession> sessions, ulong? lun)
    {
        var commands = new List<(ScsiCommandContext, uint)>();
        foreach (IscsiSession session in sessions) commands.AddRange(session.SnapshotTasks(lun));
        return AbortAsync(connection, commands);
    }

    /// <summary>
    /// Aborts <paramref name="commands"/> (each captured with its generation under the session lock,
    /// so a pooled context reused by a later command in the meantime is left alone) and drains them;
    /// returns whether any was already answering (too late to abort).
    /// </summary>
    private static async Task<bool> AbortAsync(IscsiConnection connection, List<(ScsiCommandContext Command, uint Generation)> commands)
    {
        bool anyAnswered = false;
        var executing = new List<(ScsiCommandContext Command, uint Generation)>();
        foreach ((ScsiCommandContext command, uint generation) in commands)
        {
            IscsiSession? owner = command.Owner.Session;
            if (owner is null) continue;
            CommandState prior = owner.AbortOne(command, generation);
            // Free: the task completed (its response was sent) after the snapshot, and its context
            // may already carry a later command; either way the task no longer exists
            // (libiscsi iSCSITMF.AbortTaskSimpleAsync saw GOOD + FUNCTION COMPLETE).
            anyAnswered |= prior is CommandState.Responding or CommandState.Free;
            if (prior is CommandState.Executing or CommandState.Responding) executing.Add((command, generation));
            else if (prior == CommandState.AwaitingData && ReferenceEquals(command.Owner, connection)) connection.ReleaseAbortedOnReadLoop(command);
            // AwaitingOrder commands stay queued; they are released when their CmdSN turn comes.
            // AwaitingData commands of other connections are released by their own read loops.
        }
        await connection.DrainAsync(executing).ConfigureAwait(false);
        return anyAnswered;
    }
}
