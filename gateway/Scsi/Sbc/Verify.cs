using System.Buffers;
using Sds.Gateway.Block;

namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// VERIFY (10/12/16), SBC-3 r36 §5.33–5.35, and WRITE AND VERIFY (10/12/16), §5.37–5.39.
/// BYTCHK 00b verifies the medium (every block is readable, so only the range is checked),
/// 01b compares the Data-Out buffer with the medium, 11b compares one Data-Out block with every
/// block of the range. A mismatch is MISCOMPARE with the byte offset in INFORMATION.
/// </summary>
internal static class Verify
{
    /// <summary>VERIFY.</summary>
    public static ValueTask<ScsiStatus> ExecuteVerify(LogicalUnit unit, ScsiTask task)
    {
        ReadWrite.Addressing addressing = ReadWrite.Decode(task.Cdb);
        int byteCheck = (addressing.Flags >> 1) & 0x03;
        if (byteCheck == 0b10) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1, 2));
        // VERIFY has no FUA; bit 0 is reserved, bit 3 reserved in SBC-3.
        if ((addressing.Flags & 0x09) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1, (addressing.Flags & 0x08) != 0 ? 3 : 0));
        if (!ReadWrite.Validate(unit, task, new ReadWrite.Addressing(addressing.Lba, addressing.Blocks, (byte)(addressing.Flags & 0xE0)), checkTransferLimit: true))
            return new(ScsiStatus.CheckCondition);
        if (byteCheck == 0 || addressing.Blocks == 0) return CommandResult.Good;
        int blockBytes = unit.BlockSizeBytes;
        int expectedBytes = byteCheck == 0b01 ? (int)(addressing.Blocks << unit.BlockSizeShift) : blockBytes;
        task.CdbTransferLength = (uint)expectedBytes;
        if (task.DataOut.Length < expectedBytes) return CommandResult.Check(task, Sense.InvalidFieldInCommandInformationUnit);
        return Compare(unit, task, addressing, byteCheck == 0b11);
    }

    /// <summary>WRITE AND VERIFY: the write is forced to the medium; verification of what was just written cannot fail.</summary>
    public static ValueTask<ScsiStatus> ExecuteWriteAndVerify(LogicalUnit unit, ScsiTask task)
    {
        ReadWrite.Addressing addressing = ReadWrite.Decode(task.Cdb);
        // Bits 3 and 0 are reserved; BYTCHK is bit 1 (SBC-3 r36 §5.37).
        if ((addressing.Flags & 0x0D) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1, (addressing.Flags & 0x08) != 0 ? 3 : 0));
        if (!ReadWrite.Validate(unit, task, addressing, checkTransferLimit: true)) return new(ScsiStatus.CheckCondition);
        int transferBytes = (int)(addressing.Blocks << unit.BlockSizeShift);
        task.CdbTransferLength = (uint)transferBytes;
        if (transferBytes == 0) return CommandResult.Good;
        int moveBytes = Math.Min(transferBytes, task.DataOut.Length);
        if ((moveBytes & (unit.BlockSizeBytes - 1)) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCommandInformationUnit);
        if (moveBytes == 0) return CommandResult.Good;
        return CommandResult.FromBlock(task,
            unit.Device.WriteAsync((long)(addressing.Lba << unit.BlockSizeShift), task.DataOut[..moveBytes], forceUnitAccess: true, task.CancellationToken),
            writing: true);
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<ScsiStatus> Compare(LogicalUnit unit, ScsiTask task, ReadWrite.Addressing addressing, bool sameBlock)
    {
        const int ChunkBytes = 256 * 1024;
        int blockBytes = unit.BlockSizeBytes;
        long offsetBytes = (long)(addressing.Lba << unit.BlockSizeShift);
        long totalBytes = (long)addressing.Blocks << unit.BlockSizeShift;
        byte[] medium = ArrayPool<byte>.Shared.Rent((int)Math.Min(ChunkBytes, totalBytes));
        try
        {
            for (long done = 0; done < totalBytes;)
            {
                int count = (int)Math.Min(ChunkBytes, totalBytes - done);
                BlockResult read = await unit.Device.ReadAsync(offsetBytes + done, medium.AsMemory(0, count), task.CancellationToken).ConfigureAwait(false);
                if (read != BlockResult.Ok) return CommandResult.FromBlock(task, read, writing: false);
                for (int at = 0; at < count; at += blockBytes)
                {
                    ReadOnlySpan<byte> expected = sameBlock
                        ? task.DataOut.Span[..blockBytes]
                        : task.DataOut.Span.Slice((int)(done + at), blockBytes);
                    int same = expected.CommonPrefixLength(medium.AsSpan(at, blockBytes));
                    if (same < blockBytes)
                    {
                        task.CheckCondition(Sense.MiscompareAt((ulong)(done + at + same)));
                        return ScsiStatus.CheckCondition;
                    }
                }
                done += count;
            }
            return ScsiStatus.Good;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(medium);
        }
    }
}
