using Sds.Gateway.Block;
using Sds.Gateway.Scsi.Sense;
using SenseCatalog = Sds.Gateway.Scsi.Sense.Sense;

namespace Sds.Gateway.Scsi;

/// <summary>Small helpers every handler uses to finish a command: status values, sense, and Data-In.</summary>
internal static class CommandResult
{
    /// <summary>A completed GOOD.</summary>
    public static ValueTask<ScsiStatus> Good => new(ScsiStatus.Good);

    /// <summary>Ends the task in CHECK CONDITION with <paramref name="sense"/>.</summary>
    public static ValueTask<ScsiStatus> Check(ScsiTask task, in SenseData sense)
    {
        task.CheckCondition(sense);
        return new(ScsiStatus.CheckCondition);
    }

    /// <summary>Ends the task in RESERVATION CONFLICT.</summary>
    public static ValueTask<ScsiStatus> Conflict => new(ScsiStatus.ReservationConflict);

    /// <summary>
    /// Returns <paramref name="response"/> as Data-In, truncated to the CDB's ALLOCATION LENGTH and to
    /// the buffer the transport provided (SPC-4 r37 §4.2.5.6: truncation is not an error).
    /// </summary>
    public static ValueTask<ScsiStatus> DataIn(ScsiTask task, ReadOnlySpan<byte> response, int allocationLength)
    {
        int count = Math.Min(Math.Min(response.Length, allocationLength), task.DataIn.Length);
        response[..count].CopyTo(task.DataIn.Span);
        task.DataInLength = count;
        return new(ScsiStatus.Good);
    }

    /// <summary>Maps a device result to status and sense; <paramref name="writing"/> picks the medium error flavour.</summary>
    public static ScsiStatus FromBlock(ScsiTask task, BlockResult result, bool writing)
    {
        switch (result)
        {
            case BlockResult.Ok:
                return ScsiStatus.Good;
            case BlockResult.MediumError:
                task.CheckCondition(writing ? SenseCatalog.WriteError : SenseCatalog.UnrecoveredReadError);
                break;
            case BlockResult.NoSpace:
                task.CheckCondition(SenseCatalog.SpaceAllocationFailedWriteProtect);
                break;
            case BlockResult.OutOfRange:
                task.CheckCondition(SenseCatalog.LbaOutOfRange);
                break;
            case BlockResult.Miscompare:
                task.CheckCondition(SenseCatalog.MiscompareDuringVerify);
                break;
            case BlockResult.NotSupported:
                task.CheckCondition(SenseCatalog.InvalidCommandOperationCode);
                break;
            case BlockResult.Cancelled:
            case BlockResult.Unavailable:
                // A cluster device that found no PG leader within the budget: ABORTED COMMAND is retried by
                // initiators (Linux, ESXi), unlike HARDWARE ERROR, and claims nothing about the medium.
                task.CheckCondition(SenseCatalog.CommandAborted);
                break;
            case BlockResult.NotAtomicRange:
                task.CheckCondition(SenseCatalog.InvalidFieldInCdb);
                break;
            default:
                task.CheckCondition(SenseCatalog.InternalTargetFailure);
                break;
        }
        return ScsiStatus.CheckCondition;
    }

    /// <summary>Completes a device operation without allocating when it already finished.</summary>
    public static ValueTask<ScsiStatus> FromBlock(ScsiTask task, ValueTask<BlockResult> pending, bool writing)
    {
        if (pending.IsCompletedSuccessfully) return new(FromBlock(task, pending.Result, writing));
        return AwaitBlock(task, pending, writing);
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<ScsiStatus> AwaitBlock(ScsiTask task, ValueTask<BlockResult> pending, bool writing) =>
        FromBlock(task, await pending.ConfigureAwait(false), writing);
}
