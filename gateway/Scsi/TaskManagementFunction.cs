namespace Sds.Gateway.Scsi;

/// <summary>Task management functions, numbered as RFC 7143 §11.5.1 encodes them.</summary>
internal enum TaskManagementFunction : byte
{
    AbortTask = 1,
    AbortTaskSet = 2,
    ClearAca = 3,
    ClearTaskSet = 4,
    LogicalUnitReset = 5,
    TargetWarmReset = 6,
    TargetColdReset = 7,
    TaskReassign = 8,
}
