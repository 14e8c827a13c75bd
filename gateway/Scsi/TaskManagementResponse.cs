namespace Sds.Gateway.Scsi;

/// <summary>Task management responses, numbered as RFC 7143 §11.6.1 encodes them.</summary>
internal enum TaskManagementResponse : byte
{
    FunctionComplete = 0,
    TaskDoesNotExist = 1,
    LunDoesNotExist = 2,
    TaskStillAllegiant = 3,
    TaskReassignmentNotSupported = 4,
    FunctionNotSupported = 5,
    FunctionAuthorizationFailed = 6,
    FunctionRejected = 255,
}
