namespace Sds.Gateway.Scsi.Reservations;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// RESERVE (6/10) and RELEASE (6/10), SPC-2 §7.21–7.22 (obsolete in SPC-4 but still sent by
/// Windows clusters and libiscsi): a whole-LU reservation for one I_T nexus. Third-party and
/// extent reservations are not supported.
/// </summary>
internal static class ReserveRelease
{
    /// <summary>RESERVE: RESERVATION CONFLICT when another nexus holds a reservation.</summary>
    public static ValueTask<ScsiStatus> Reserve(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        // RESERVE(6) byte 1 (obsolete extent/3rd party bits) and RESERVE(10) 3RDPTY/LONGID must be zero.
        if ((cdb[1] & 0x1F) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1));
        return Reserve(unit.Reservations.ReserveSpc2Async(task.Nexus));
    }

    private static ValueTask<ScsiStatus> Reserve(ValueTask<bool> reserved)
    {
        if (reserved.IsCompletedSuccessfully) return reserved.Result ? CommandResult.Good : CommandResult.Conflict;
        return Await(reserved);

        static async ValueTask<ScsiStatus> Await(ValueTask<bool> pending) =>
            await pending.ConfigureAwait(false) ? ScsiStatus.Good : ScsiStatus.ReservationConflict;
    }

    /// <summary>RELEASE: releases this nexus's reservation; from any other nexus it does nothing and succeeds.</summary>
    public static ValueTask<ScsiStatus> Release(LogicalUnit unit, ScsiTask task)
    {
        if ((task.Cdb[1] & 0x1F) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1));
        ValueTask released = unit.Reservations.ReleaseSpc2Async(task.Nexus);
        if (released.IsCompletedSuccessfully) return CommandResult.Good;
        return Await(released);

        static async ValueTask<ScsiStatus> Await(ValueTask pending)
        {
            await pending.ConfigureAwait(false);
            return ScsiStatus.Good;
        }
    }
}
