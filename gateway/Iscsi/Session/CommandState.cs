namespace Sds.Gateway.Iscsi.Session;

/// <summary>Life of one SCSI command inside the iSCSI layer.</summary>
internal enum CommandState : byte
{
    /// <summary>In the free list.</summary>
    Free,
    /// <summary>Received, waiting for its CmdSN turn (RFC 7143 §4.2.2.1).</summary>
    AwaitingOrder,
    /// <summary>Admitted; Data-Out (unsolicited or solicited by R2T) still missing.</summary>
    AwaitingData,
    /// <summary>Handed to the SCSI layer.</summary>
    Executing,
    /// <summary>The SCSI layer finished; the response is being sent (too late to abort: RFC 7143 §11.5.1 "task does not exist").</summary>
    Responding,
    /// <summary>Aborted by a task management function or connection loss; no response will be sent.</summary>
    Aborted,
}
