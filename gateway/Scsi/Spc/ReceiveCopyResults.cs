using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Spc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// RECEIVE COPY RESULTS (LID1), SPC-4 r37 §6.19: COPY STATUS (00h) of a held EXTENDED COPY and
/// OPERATING PARAMETERS (03h) of the copy manager.
/// </summary>
internal static class ReceiveCopyResults
{
    /// <summary>COPY STATUS: the held status of LIST IDENTIFIER from this nexus, else INVALID FIELD IN CDB.</summary>
    public static ValueTask<ScsiStatus> CopyStatus(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        int allocationLength = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]), int.MaxValue);
        if (!unit.CopyStatuses.TryTake(task.Nexus, cdb[2], out CopyStatusTable.Entry status))
            return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(2));
        Span<byte> response = stackalloc byte[12];
        response.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(response, 8);
        response[4] = 0x01; // COPY MANAGER STATUS: completed without errors
        BinaryPrimitives.WriteUInt16BigEndian(response[5..], status.SegmentsProcessed);
        // TRANSFER COUNT UNITS 00h (bytes) unless the count needs kibibytes (01h).
        bool kib = status.TransferredBytes > uint.MaxValue;
        response[7] = kib ? (byte)0x01 : (byte)0x00;
        BinaryPrimitives.WriteUInt32BigEndian(response[8..], (uint)(kib ? status.TransferredBytes >> 10 : status.TransferredBytes));
        return CommandResult.DataIn(task, response, allocationLength);
    }

    /// <summary>OPERATING PARAMETERS: the <see cref="CopyManagerLimits"/>.</summary>
    public static ValueTask<ScsiStatus> OperatingParameters(LogicalUnit unit, ScsiTask task)
    {
        int allocationLength = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(task.Cdb[10..]), int.MaxValue);
        Span<byte> response = stackalloc byte[46];
        response.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(response, (uint)(response.Length - 4));
        response[4] = 0x01; // SNLID: LIST ID USAGE 11b (no list identifier) is supported
        BinaryPrimitives.WriteUInt16BigEndian(response[8..], CopyManagerLimits.CscdDescriptorsMax);
        BinaryPrimitives.WriteUInt16BigEndian(response[10..], CopyManagerLimits.SegmentDescriptorsMax);
        BinaryPrimitives.WriteUInt32BigEndian(response[12..], CopyManagerLimits.DescriptorListBytesMax);
        BinaryPrimitives.WriteUInt32BigEndian(response[16..], CopyManagerLimits.SegmentBytesMax);
        // MAXIMUM INLINE DATA LENGTH, HELD DATA LIMIT, MAXIMUM STREAM DEVICE TRANSFER SIZE: 0.
        BinaryPrimitives.WriteUInt16BigEndian(response[34..], 1); // TOTAL CONCURRENT COPIES
        response[36] = 1; // MAXIMUM CONCURRENT COPIES
        response[37] = (byte)unit.BlockSizeShift; // DATA SEGMENT GRANULARITY (log2 bytes)
        response[43] = 2; // IMPLEMENTED DESCRIPTOR LIST LENGTH
        response[44] = CopyManagerLimits.BlockToBlockSegment;
        response[45] = CopyManagerLimits.IdentificationCscd;
        return CommandResult.DataIn(task, response, allocationLength);
    }
}
