using System.Buffers.Binary;
using Sds.Gateway.Block;

namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// COMPARE AND WRITE, SBC-3 r36 §5.2: the Data-Out buffer holds the verify data then the write
/// data (NUMBER OF LOGICAL BLOCKS each). The device runs the whole thing as one atomic operation;
/// on a mismatch nothing is written and INFORMATION carries the offset of the first differing byte.
/// </summary>
internal static class CompareAndWrite
{
    /// <summary>Validates, then compares and writes atomically.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        if ((cdb[1] & 0xE0) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1, 7));
        ulong lba = BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]);
        int blocks = cdb[13];
        if (blocks > BlockLimits.MaximumCompareAndWriteBlocks) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(13));
        if (!unit.InRange(lba, (ulong)blocks)) return CommandResult.Check(task, Sense.LbaOutOfRange);
        int halfBytes = blocks << unit.BlockSizeShift;
        task.CdbTransferLength = (uint)(2 * halfBytes);
        if (blocks == 0)
        {
            // Zero blocks with data attached: the CDB contradicts the command (e.g. a count that wrapped past 255).
            return task.ExpectedDataTransferLength == 0 ? CommandResult.Good : CommandResult.Check(task, Sense.InvalidFieldInCdbAt(13));
        }
        // The Data-Out buffer must be exactly verify + write data; anything else is a malformed command.
        if (task.ExpectedDataTransferLength != 2 * halfBytes || task.DataOut.Length != 2 * halfBytes)
            return CommandResult.Check(task, Sense.InvalidFieldInCommandInformationUnit);

        bool fua = (cdb[1] & 0x08) != 0 || unit.WriteThrough;
        ValueTask<CompareAndWriteResult> pending = unit.Device.CompareAndWriteAsync(
            (long)(lba << unit.BlockSizeShift), task.DataOut[..halfBytes], task.DataOut.Slice(halfBytes, halfBytes), fua, task.CancellationToken);
        if (pending.IsCompletedSuccessfully) return new(Complete(task, pending.Result));
        return Await(task, pending);
    }

    private static ScsiStatus Complete(ScsiTask task, CompareAndWriteResult result)
    {
        if (result.Result == BlockResult.Miscompare)
        {
            task.CheckCondition(Sense.MiscompareAt((ulong)result.MiscompareOffsetBytes));
            return ScsiStatus.CheckCondition;
        }
        return CommandResult.FromBlock(task, result.Result, writing: true);
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<ScsiStatus> Await(ScsiTask task, ValueTask<CompareAndWriteResult> pending) =>
        Complete(task, await pending.ConfigureAwait(false));
}
