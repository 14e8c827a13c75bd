using System.Buffers.Binary;
using Sds.Gateway.Block;

namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// GET LBA STATUS, SBC-3 r36 §5.5: provisioning status descriptors from the starting LBA on.
/// Kept cheap because QEMU asks before reads (DESIGN.md §10): one device query per descriptor,
/// a bounded number of descriptors, no allocation beyond the stack.
/// </summary>
internal static class GetLbaStatus
{
    /// <summary>Descriptors returned at most per command.</summary>
    public const int DescriptorsMax = 32;

    private const int HeaderBytes = 8;
    private const int DescriptorBytes = 16;

    /// <summary>Returns mapped/deallocated extents starting at the requested LBA.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ulong lba = BinaryPrimitives.ReadUInt64BigEndian(task.Cdb[2..]);
        int allocationLength = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(task.Cdb[10..]), int.MaxValue);
        ulong capacity = unit.BlockCount;
        if (lba >= capacity) return Fail(task);
        int wanted = Math.Clamp((allocationLength - HeaderBytes) / DescriptorBytes, 1, DescriptorsMax);
        byte[] response = System.Buffers.ArrayPool<byte>.Shared.Rent(HeaderBytes + wanted * DescriptorBytes);
        try
        {
            response.AsSpan(0, HeaderBytes).Clear();
            return await Fill(unit, task, lba, capacity, wanted, allocationLength, response).ConfigureAwait(false);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(response);
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<ScsiStatus> Fill(LogicalUnit unit, ScsiTask task, ulong lba, ulong capacity, int wanted, int allocationLength, byte[] response)
    {
        int written = 0;
        while (written < wanted && lba < capacity)
        {
            // EXTENT LENGTH is 32 bits of blocks: never ask about more than that at once.
            ulong queryBlocks = Math.Min(capacity - lba, uint.MaxValue);
            ProvisioningStatus status = await unit.Device.GetProvisioningStatusAsync(
                (long)(lba << unit.BlockSizeShift), (long)(queryBlocks << unit.BlockSizeShift), task.CancellationToken).ConfigureAwait(false);
            if (status.Result != BlockResult.Ok) return CommandResult.FromBlock(task, status.Result, writing: false);
            ulong extentBlocks = Math.Max(1UL, (ulong)status.LengthBytes >> unit.BlockSizeShift);
            Span<byte> descriptor = response.AsSpan(HeaderBytes + written * DescriptorBytes, DescriptorBytes);
            BinaryPrimitives.WriteUInt64BigEndian(descriptor, lba);
            BinaryPrimitives.WriteUInt32BigEndian(descriptor[8..], (uint)extentBlocks);
            // PROVISIONING STATUS: 0 mapped, 1 deallocated (SBC-3 r36 table 39).
            descriptor[12..].Clear();
            descriptor[12] = status.Mapped ? (byte)0 : (byte)1;
            written++;
            lba += extentBlocks;
        }
        int length = HeaderBytes + written * DescriptorBytes;
        BinaryPrimitives.WriteUInt32BigEndian(response, (uint)(length - 4));
        return await CommandResult.DataIn(task, response.AsSpan(0, length), allocationLength).ConfigureAwait(false);
    }

    private static ScsiStatus Fail(ScsiTask task)
    {
        task.CheckCondition(Sense.LbaOutOfRange);
        return ScsiStatus.CheckCondition;
    }
}
