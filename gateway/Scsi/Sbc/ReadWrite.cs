using System.Buffers;
using System.Buffers.Binary;
using Sds.Gateway.Block;

namespace Sds.Gateway.Scsi.Sbc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// READ and WRITE (6/10/12/16), SBC-3 r36 §5.8–5.11 and §5.29–5.32. The hot path: decoding is
/// arithmetic on the CDB span, data moves straight between the task's buffers and the device,
/// and a synchronously completing device makes the whole command allocation-free.
/// </summary>
internal static class ReadWrite
{
    /// <summary>The decoded addressing fields of a READ/WRITE-class CDB.</summary>
    /// <param name="Lba">LOGICAL BLOCK ADDRESS.</param>
    /// <param name="Blocks">TRANSFER LENGTH in blocks.</param>
    /// <param name="Flags">CDB byte 1 (xPROTECT, DPO, FUA), 0 for the 6-byte forms.</param>
    internal readonly record struct Addressing(ulong Lba, uint Blocks, byte Flags)
    {
        /// <summary>FUA bit (SBC-3 r36 §5.8): the data must reach the medium before completion.</summary>
        public bool ForceUnitAccess => (Flags & 0x08) != 0;
    }

    /// <summary>Decodes LBA, transfer length and byte 1 for the 6/10/12/16-byte READ/WRITE/VERIFY family.</summary>
    public static Addressing Decode(ReadOnlySpan<byte> cdb)
    {
        switch (cdb[0] >> 5)
        {
            case 0: // 6-byte: 21-bit LBA; TRANSFER LENGTH 0 means 256 blocks (SBC-3 r36 §5.9).
                return new(((uint)(cdb[1] & 0x1F) << 16) | BinaryPrimitives.ReadUInt16BigEndian(cdb[2..]), cdb[4] == 0 ? 256u : cdb[4], 0);
            case 1: // 10-byte
            case 2:
                return new(BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]), cdb[1]);
            case 5: // 12-byte
                return new(BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]), cdb[1]);
            default: // 16-byte
                return new(BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]), cdb[1]);
        }
    }

    /// <summary>
    /// The checks shared by every command that addresses a range of blocks: protection fields
    /// (no protection information here, SBC-3 r36 §4.22.2), transfer limit, and LBA range.
    /// </summary>
    public static bool Validate(LogicalUnit unit, ScsiTask task, in Addressing addressing, bool checkTransferLimit)
    {
        if ((addressing.Flags & 0xE0) != 0)
        {
            // RDPROTECT/WRPROTECT/VRPROTECT ≠ 0 on a logical unit formatted without protection information.
            task.CheckCondition(Sense.InvalidFieldInCdbAt(1, 7));
            return false;
        }
        if (!unit.InRange(addressing.Lba, addressing.Blocks))
        {
            task.CheckCondition(Sense.LbaOutOfRange);
            return false;
        }
        if (checkTransferLimit && addressing.Blocks > BlockLimits.MaximumTransferBlocks(unit))
        {
            // SBC-3 r36 §6.5.3: a TRANSFER LENGTH beyond MAXIMUM TRANSFER LENGTH is an invalid field.
            task.CheckCondition(Sense.InvalidFieldInCdbAt(task.Cdb[0] switch { 0x08 or 0x0A => 4, < 0x60 => 7, < 0xA0 => 10, _ => 6 }));
            return false;
        }
        return true;
    }

    /// <summary>READ(6/10/12/16).</summary>
    public static ValueTask<ScsiStatus> Read(LogicalUnit unit, ScsiTask task)
    {
        Addressing addressing = Decode(task.Cdb);
        if (!Validate(unit, task, addressing, checkTransferLimit: true)) return new(ScsiStatus.CheckCondition);
        int transferBytes = (int)(addressing.Blocks << unit.BlockSizeShift);
        task.CdbTransferLength = (uint)transferBytes;
        if (transferBytes == 0) return CommandResult.Good;

        // RFC 7143 §11.4.5.1: with a smaller expected length, send what fits and report overflow.
        int moveBytes = Math.Min(transferBytes, task.DataIn.Length);
        long offsetBytes = (long)(addressing.Lba << unit.BlockSizeShift);
        task.DataInLength = moveBytes;
        if ((moveBytes & (unit.BlockSizeBytes - 1)) != 0) return ReadUnaligned(unit, task, offsetBytes, moveBytes);
        return CommandResult.FromBlock(task, unit.Device.ReadAsync(offsetBytes, task.DataIn[..moveBytes], task.CancellationToken), writing: false);
    }

    /// <summary>WRITE(6/10/12/16).</summary>
    public static ValueTask<ScsiStatus> Write(LogicalUnit unit, ScsiTask task)
    {
        Addressing addressing = Decode(task.Cdb);
        if (!Validate(unit, task, addressing, checkTransferLimit: true)) return new(ScsiStatus.CheckCondition);
        int transferBytes = (int)(addressing.Blocks << unit.BlockSizeShift);
        task.CdbTransferLength = (uint)transferBytes;
        if (transferBytes == 0) return CommandResult.Good;

        // RFC 7143 §11.4.5.1 / FCP-4 §9.5.8: with a smaller expected length only what was sent is
        // written and the transport reports overflow. A partial block cannot be written, so that case
        // fails with INVALID FIELD IN COMMAND INFORMATION UNIT before anything changes.
        int moveBytes = Math.Min(transferBytes, task.DataOut.Length);
        if ((moveBytes & (unit.BlockSizeBytes - 1)) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCommandInformationUnit);
        if (moveBytes == 0) return CommandResult.Good;
        long offsetBytes = (long)(addressing.Lba << unit.BlockSizeShift);
        bool fua = addressing.ForceUnitAccess || unit.WriteThrough;
        return CommandResult.FromBlock(task, unit.Device.WriteAsync(offsetBytes, task.DataOut[..moveBytes], fua, task.CancellationToken), writing: true);
    }

    // Rare path: the expected length cuts a block in two. Read whole blocks into a pooled buffer.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<ScsiStatus> ReadUnaligned(LogicalUnit unit, ScsiTask task, long offsetBytes, int moveBytes)
    {
        int wholeBytes = (moveBytes + unit.BlockSizeBytes - 1) & ~(unit.BlockSizeBytes - 1);
        byte[] staging = ArrayPool<byte>.Shared.Rent(wholeBytes);
        try
        {
            BlockResult result = await unit.Device.ReadAsync(offsetBytes, staging.AsMemory(0, wholeBytes), task.CancellationToken).ConfigureAwait(false);
            if (result == BlockResult.Ok) staging.AsSpan(0, moveBytes).CopyTo(task.DataIn.Span);
            return CommandResult.FromBlock(task, result, writing: false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(staging);
        }
    }
}
