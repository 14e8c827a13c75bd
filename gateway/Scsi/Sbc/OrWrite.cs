using System.Buffers;
using Sds.Gateway.Block;

namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// ORWRITE (16), SBC-3 r36 §5.11: the medium becomes medium OR Data-Out. Atomic through the
/// device's compare-and-write: read, OR, then compare-and-write against what was read, retried
/// when another writer got in between.
/// </summary>
internal static class OrWrite
{
    private const int AttemptsMax = 8;

    /// <summary>Validates and performs the OR write.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadWrite.Addressing addressing = ReadWrite.Decode(task.Cdb);
        if ((addressing.Flags & 0x07) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1));
        if (!ReadWrite.Validate(unit, task, addressing, checkTransferLimit: true)) return new(ScsiStatus.CheckCondition);
        int transferBytes = (int)(addressing.Blocks << unit.BlockSizeShift);
        task.CdbTransferLength = (uint)transferBytes;
        if (transferBytes == 0) return CommandResult.Good;
        if (task.DataOut.Length != transferBytes) return CommandResult.Check(task, Sense.InvalidFieldInCommandInformationUnit);
        return Apply(unit, task, (long)(addressing.Lba << unit.BlockSizeShift), transferBytes, addressing.ForceUnitAccess || unit.WriteThrough);
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<ScsiStatus> Apply(LogicalUnit unit, ScsiTask task, long offsetBytes, int lengthBytes, bool fua)
    {
        byte[] current = ArrayPool<byte>.Shared.Rent(lengthBytes);
        byte[] merged = ArrayPool<byte>.Shared.Rent(lengthBytes);
        try
        {
            for (int attempt = 0; attempt < AttemptsMax; attempt++)
            {
                BlockResult read = await unit.Device.ReadAsync(offsetBytes, current.AsMemory(0, lengthBytes), task.CancellationToken).ConfigureAwait(false);
                if (read != BlockResult.Ok) return CommandResult.FromBlock(task, read, writing: false);
                ReadOnlySpan<byte> data = task.DataOut.Span;
                for (int i = 0; i < lengthBytes; i++) merged[i] = (byte)(current[i] | data[i]);
                CompareAndWriteResult result = await unit.Device.CompareAndWriteAsync(
                    offsetBytes, current.AsMemory(0, lengthBytes), merged.AsMemory(0, lengthBytes), fua, task.CancellationToken).ConfigureAwait(false);
                if (result.Result != BlockResult.Miscompare) return CommandResult.FromBlock(task, result.Result, writing: true);
            }
            task.CheckCondition(Sense.CommandAborted);
            return ScsiStatus.CheckCondition;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(merged);
        }
    }
}
