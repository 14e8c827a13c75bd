namespace Sds.Gateway.Scsi;

/// <summary>
/// Executes one command after the dispatcher's shared checks. Synchronous handlers return a
/// completed value; block I/O handlers complete when the device does. CHECK CONDITION is
/// returned with the sense already set on the task (<see cref="ScsiTask.CheckCondition"/>).
/// </summary>
internal delegate ValueTask<ScsiStatus> CommandHandler(LogicalUnit unit, ScsiTask task);
