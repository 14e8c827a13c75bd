using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// UNMAP, SBC-3 r36 §5.28: deallocates the ranges of the block descriptor list. Every descriptor
/// is validated before the first range is touched, so a bad list changes nothing.
/// </summary>
internal static class Unmap
{
    private const int HeaderBytes = 8;
    private const int DescriptorBytes = 16;

    /// <summary>Parses the parameter list and deallocates each range.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        (bool ok, int count) = Validate(unit, task);
        if (!ok) return ScsiStatus.CheckCondition;
        // Descriptors that continue one another are one range for the device: a list of single-block descriptors
        // (libiscsi's Unmap.Simple sends up to 256) is then one call, not one replicated command per block.
        ulong runLba = 0;
        ulong runBlocks = 0;
        for (int i = 0; i < count; i++)
        {
            ReadOnlyMemory<byte> descriptor = task.DataOut.Slice(HeaderBytes + i * DescriptorBytes, DescriptorBytes);
            ulong lba = BinaryPrimitives.ReadUInt64BigEndian(descriptor.Span);
            uint blocks = BinaryPrimitives.ReadUInt32BigEndian(descriptor.Span[8..]);
            if (blocks == 0) continue;
            if (runBlocks > 0 && lba == runLba + runBlocks)
            {
                runBlocks += blocks;
                continue;
            }
            if (runBlocks > 0 && !await UnmapRangeAsync(unit, task, runLba, runBlocks).ConfigureAwait(false)) return ScsiStatus.CheckCondition;
            (runLba, runBlocks) = (lba, blocks);
        }
        if (runBlocks > 0 && !await UnmapRangeAsync(unit, task, runLba, runBlocks).ConfigureAwait(false)) return ScsiStatus.CheckCondition;
        return ScsiStatus.Good;
    }

    // The total was bounded by BlockLimits.MaximumUnmapBlocks in Validate, so a merged run fits the device call.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> UnmapRangeAsync(LogicalUnit unit, ScsiTask task, ulong lba, ulong blocks)
    {
        var result = await unit.Device.UnmapAsync((long)(lba << unit.BlockSizeShift), (long)blocks << unit.BlockSizeShift, task.CancellationToken).ConfigureAwait(false);
        return CommandResult.FromBlock(task, result, writing: true) == ScsiStatus.Good;
    }

    private static (bool Ok, int Count) Validate(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        // ANCHOR: anchored deallocation is not offered by UNMAP here (ANC_SUP covers WRITE SAME only).
        if ((cdb[1] & 0x01) != 0)
        {
            task.CheckCondition(Sense.InvalidFieldInCdbAt(1, 0));
            return (false, 0);
        }
        int parameterLength = BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
        task.CdbTransferLength = (uint)parameterLength;
        if (parameterLength == 0) return (true, 0);
        ReadOnlySpan<byte> list = task.DataOut.Span[..Math.Min(parameterLength, task.DataOut.Length)];
        if (list.Length < HeaderBytes)
        {
            task.CheckCondition(Sense.ParameterListLengthError);
            return (false, 0);
        }
        int descriptorBytes = BinaryPrimitives.ReadUInt16BigEndian(list[2..]);
        int count = Math.Min(descriptorBytes, list.Length - HeaderBytes) / DescriptorBytes;
        if (count > BlockLimits.MaximumUnmapDescriptors)
        {
            task.CheckCondition(Sense.InvalidFieldInParameterListAt(2));
            return (false, 0);
        }
        ulong total = 0;
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> descriptor = list.Slice(HeaderBytes + i * DescriptorBytes, DescriptorBytes);
            ulong lba = BinaryPrimitives.ReadUInt64BigEndian(descriptor);
            uint blocks = BinaryPrimitives.ReadUInt32BigEndian(descriptor[8..]);
            if (!unit.InRange(lba, blocks))
            {
                task.CheckCondition(Sense.LbaOutOfRange);
                return (false, 0);
            }
            total += blocks;
        }
        if (total > BlockLimits.MaximumUnmapBlocks)
        {
            task.CheckCondition(Sense.InvalidFieldInParameterListAt(HeaderBytes + 8));
            return (false, 0);
        }
        return (true, count);
    }
}
