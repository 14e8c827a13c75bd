namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// PREVENT ALLOW MEDIUM REMOVAL, SBC-3 r36 §5.14. PREVENT 01b starts, and 00b ends, the prevention
/// of medium removal for the I_T nexus that sends it; the logical unit's medium cannot be ejected
/// while any nexus prevents it. The condition also ends on I_T nexus loss and on logical unit,
/// target or power-on reset (<see cref="RemovableMedium"/>). PREVENT 10b and 11b are obsolete in
/// SBC-3 (persistent prevent belongs to MMC), so they are INVALID FIELD IN CDB.
/// A fixed medium has nothing to lock: 00b/01b are accepted and change nothing.
/// </summary>
internal static class PreventAllowMediumRemoval
{
    /// <summary>Records PREVENT 0 or 1 for the requesting nexus; refuses the obsolete codes.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        int prevent = task.Cdb[4] & 0x03;
        if (prevent > 1) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(4, 1));
        if (!unit.Removable) return CommandResult.Good;
        ValueTask<MediumChange> change = unit.Medium.PreventAsync(task.Nexus, prevent == 1);
        // In process the change is already done; a cluster gateway's goes to meta (one round trip, rare).
        return change.IsCompletedSuccessfully ? ToStatus(task, change.Result) : AwaitChange(change, task);
    }

    /// <summary>The status for <paramref name="change"/>: a prevention is never refused, only unavailable.</summary>
    internal static ValueTask<ScsiStatus> ToStatus(ScsiTask task, MediumChange change) => change switch
    {
        MediumChange.Done => CommandResult.Good,
        MediumChange.RemovalPrevented => CommandResult.Check(task, Sense.MediumRemovalPrevented),
        _ => CommandResult.Check(task, Sense.TargetPortUnavailable),
    };

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    internal static async ValueTask<ScsiStatus> AwaitChange(ValueTask<MediumChange> pending, ScsiTask task) =>
        await ToStatus(task, await pending.ConfigureAwait(false)).ConfigureAwait(false);
}
