namespace Sds.Gateway.Scsi;

/// <summary>
/// The SCSI target device behind one iSCSI target node (SAM-5 §4.6): its logical units and the
/// SCSI-layer side of task management. This is the only door from the iSCSI layer into SCSI.
/// </summary>
internal interface IScsiTargetDevice
{
    /// <summary>
    /// Executes one command. Completes when <see cref="ScsiTask.Status"/>, sense and data are
    /// final. Protocol faults (bad CDB, unknown LUN, reservation conflict) are values in the task;
    /// the method does not throw for them. Unknown LUNs answer per SPC-4 (INQUIRY with peripheral
    /// qualifier 011b, REPORT LUNS and REQUEST SENSE served, others LOGICAL UNIT NOT SUPPORTED).
    /// </summary>
    ValueTask ExecuteAsync(ScsiTask task);

    /// <summary>
    /// The SCSI-layer effects of a task management function (SAM-5 §7): unit attentions for the
    /// other nexuses, LU reset state. The iSCSI layer has already cancelled and drained the
    /// affected commands (ABORT TASK is entirely the iSCSI layer's and need not be passed here).
    /// Completes when the effects reached every nexus: on a cluster gateway a reset is recorded in meta
    /// first, so the other gateways' nexuses hold the unit attention before the response goes out.
    /// </summary>
    ValueTask<TaskManagementResponse> ExecuteTaskManagementAsync(TaskManagementFunction function, ITNexus nexus, ulong lun);

    /// <summary>A new I_T nexus exists (login completed): it will see POWER ON/RESET unit attention first.</summary>
    void NexusCreated(ITNexus nexus);

    /// <summary>
    /// The I_T nexus ended (session closed or reinstated): SPC-4 I_T NEXUS LOSS handling. The local effects
    /// happen before this returns; the task completes when the shared ones did too (a cluster gateway's
    /// SPC-2 release is a meta command), so a Logout Response can wait for it (RFC 7143 §11.15).
    /// </summary>
    Task NexusLostAsync(ITNexus nexus);
}
