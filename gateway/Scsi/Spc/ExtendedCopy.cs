using System.Buffers;
using System.Buffers.Binary;
using Sds.Gateway.Block;
using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Scsi.Spc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// EXTENDED COPY (LID1), SPC-4 r37 §6.4: the copy manager moves blocks between logical units of
/// this target device without the data crossing the network. Copy targets (CSCD) are
/// identification descriptors (E4h) naming a logical unit by its NAA designator; segments are
/// block-to-block (02h). The whole parameter list is validated before any block moves.
/// </summary>
internal static class ExtendedCopy
{
    private const int HeaderBytes = 16;
    private const int CscdBytes = 32;
    private const int BlockToBlockBytes = 28;

    /// <summary>One parsed block-to-block segment.</summary>
    private readonly record struct Segment(int Source, int Destination, uint Blocks, ulong SourceLba, ulong DestinationLba, bool DestinationCount);

    /// <summary>Parses, validates, copies, and holds the status when LIST ID USAGE asks for it.</summary>
    public static async ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        uint parameterLength = BinaryPrimitives.ReadUInt32BigEndian(task.Cdb[10..]);
        task.CdbTransferLength = parameterLength;
        if (parameterLength == 0) return ScsiStatus.Good;
        if (!TryParse(unit, task, parameterLength, out LogicalUnit?[] targets, out Segment[] segments, out byte listId, out bool hold))
            return ScsiStatus.CheckCondition;

        ulong transferred = 0;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(CopyManagerLimits.ChunkBytes);
        try
        {
            for (int i = 0; i < segments.Length; i++)
            {
                SenseData? failure = await CopySegment(targets, segments[i], buffer, task.CancellationToken).ConfigureAwait(false);
                if (failure is { } sense)
                {
                    task.CheckCondition(sense);
                    return ScsiStatus.CheckCondition;
                }
                LogicalUnit destination = targets[segments[i].Destination]!;
                transferred += (ulong)segments[i].Blocks << destination.BlockSizeShift;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (hold) unit.CopyStatuses.Hold(task.Nexus, listId, new CopyStatusTable.Entry((ushort)segments.Length, transferred));
        return ScsiStatus.Good;
    }

    private static bool TryParse(LogicalUnit unit, ScsiTask task, uint parameterLength, out LogicalUnit?[] targets, out Segment[] segments, out byte listId, out bool hold)
    {
        targets = [];
        segments = [];
        listId = 0;
        hold = false;
        if (parameterLength < HeaderBytes || task.DataOut.Length < parameterLength) return Fail(task, Sense.ParameterListLengthError);
        ReadOnlySpan<byte> list = task.DataOut.Span[..(int)parameterLength];
        listId = list[0];
        int listIdUsage = (list[1] >> 3) & 0x03;
        // LIST ID USAGE 00b: hold status for RECEIVE COPY RESULTS; 10b: do not; 11b: no list id; 01b reserved.
        if (listIdUsage == 0b01) return Fail(task, Sense.InvalidFieldInParameterListAt(1, 4));
        hold = listIdUsage == 0b00;
        int cscdLength = BinaryPrimitives.ReadUInt16BigEndian(list[2..]);
        uint segmentLength = BinaryPrimitives.ReadUInt32BigEndian(list[8..]);
        uint inlineLength = BinaryPrimitives.ReadUInt32BigEndian(list[12..]);
        if ((ulong)cscdLength + segmentLength > CopyManagerLimits.DescriptorListBytesMax) return Fail(task, Sense.ParameterListLengthError);
        // SPC-4 r37 §6.4.1: a parameter list length that truncates the lists is PARAMETER LIST LENGTH ERROR.
        if (HeaderBytes + (ulong)cscdLength + segmentLength + inlineLength > parameterLength) return Fail(task, Sense.ParameterListLengthError);
        if (inlineLength != 0) return Fail(task, Sense.InvalidFieldInParameterListAt(12));

        if (cscdLength % CscdBytes != 0) return Fail(task, Sense.ParameterListLengthError);
        int cscdCount = cscdLength / CscdBytes;
        if (cscdCount > CopyManagerLimits.CscdDescriptorsMax) return Fail(task, Sense.TooManyTargetDescriptors);
        targets = new LogicalUnit?[cscdCount];
        for (int i = 0; i < cscdCount; i++)
        {
            int at = HeaderBytes + i * CscdBytes;
            if (!TryResolveCscd(unit, task, list.Slice(at, CscdBytes), out targets[i])) return false;
        }

        var parsed = new List<Segment>();
        int offset = HeaderBytes + cscdLength;
        int end = offset + (int)segmentLength;
        while (offset < end)
        {
            if (end - offset < 4) return Fail(task, Sense.ParameterListLengthError);
            if (parsed.Count == CopyManagerLimits.SegmentDescriptorsMax) return Fail(task, Sense.TooManySegmentDescriptors);
            ReadOnlySpan<byte> descriptor = list[offset..end];
            if (descriptor[0] != CopyManagerLimits.BlockToBlockSegment) return Fail(task, Sense.UnsupportedSegmentDescriptorTypeCode);
            int descriptorLength = 4 + BinaryPrimitives.ReadUInt16BigEndian(descriptor[2..]);
            if (descriptorLength != BlockToBlockBytes) return Fail(task, Sense.InvalidFieldInParameterListAt(offset + 2));
            if (descriptor.Length < BlockToBlockBytes) return Fail(task, Sense.ParameterListLengthError);
            parsed.Add(new Segment(
                BinaryPrimitives.ReadUInt16BigEndian(descriptor[4..]),
                BinaryPrimitives.ReadUInt16BigEndian(descriptor[6..]),
                BinaryPrimitives.ReadUInt16BigEndian(descriptor[10..]),
                BinaryPrimitives.ReadUInt64BigEndian(descriptor[12..]),
                BinaryPrimitives.ReadUInt64BigEndian(descriptor[20..]),
                (descriptor[1] & 0x02) != 0));
            offset += descriptorLength;
        }
        segments = parsed.ToArray();
        foreach (Segment segment in segments)
            if (!ValidateSegment(task, targets, segment)) return false;
        return true;
    }

    // SPC-4 r37 §6.4.4.2 identification descriptor CSCD: LU ID TYPE and NUL in byte 1, a
    // designation descriptor at byte 4, the disk block length in bytes 29–31.
    private static bool TryResolveCscd(LogicalUnit unit, ScsiTask task, ReadOnlySpan<byte> cscd, out LogicalUnit? target)
    {
        target = null;
        if (cscd[0] != CopyManagerLimits.IdentificationCscd) return Fail(task, Sense.UnsupportedTargetDescriptorTypeCode);
        // LU ID TYPE (bits 7:6) is not consulted: the designator at byte 4 names the logical unit,
        // whatever LUN or proxy token the initiator would use to reach it.
        bool isNull = (cscd[1] & 0x20) != 0;
        int deviceType = cscd[1] & 0x1F;
        if (isNull || deviceType != 0) return true;
        ReadOnlySpan<byte> designator = cscd.Slice(4, 24);
        int codeSet = designator[0] & 0x0F;
        int association = (designator[1] >> 4) & 0x03;
        int designatorType = designator[1] & 0x0F;
        int length = designator[3];
        if (codeSet != 0x1 || association != 0 || designatorType != 0x3 || length != 16) return true;
        foreach (LogicalUnit candidate in unit.Target!.LogicalUnits)
        {
            if (candidate.Identity.NaaDesignator.Span.SequenceEqual(designator.Slice(4, 16)))
            {
                int blockLength = (cscd[29] << 16) | (cscd[30] << 8) | cscd[31];
                if (blockLength == candidate.BlockSizeBytes) target = candidate;
                return true;
            }
        }
        return true;
    }

    private static bool ValidateSegment(ScsiTask task, LogicalUnit?[] targets, Segment segment)
    {
        // An index past the CSCD list, a NUL descriptor or an unknown LU: nothing to copy from or to.
        if (segment.Source >= targets.Length || segment.Destination >= targets.Length) return Fail(task, Sense.CopyTargetDeviceNotReachable);
        LogicalUnit? source = targets[segment.Source];
        LogicalUnit? destination = targets[segment.Destination];
        if (source is null || destination is null) return Fail(task, Sense.CopyTargetDeviceNotReachable);
        if (source.BlockSizeBytes != destination.BlockSizeBytes) return Fail(task, Sense.CopyTargetDeviceNotReachable);
        if ((ulong)segment.Blocks << destination.BlockSizeShift > CopyManagerLimits.SegmentBytesMax) return Fail(task, Sense.InvalidFieldInParameterList);
        if (!source.InRange(segment.SourceLba, segment.Blocks) || !destination.InRange(segment.DestinationLba, segment.Blocks))
            return Fail(task, Sense.CopyAborted);
        if (destination.ReadOnly) return Fail(task, Sense.WriteProtected);
        return true;
    }

    private static async ValueTask<SenseData?> CopySegment(LogicalUnit?[] targets, Segment segment, byte[] buffer, CancellationToken cancellationToken)
    {
        LogicalUnit source = targets[segment.Source]!;
        LogicalUnit destination = targets[segment.Destination]!;
        long sourceOffset = (long)(segment.SourceLba << source.BlockSizeShift);
        long destinationOffset = (long)(segment.DestinationLba << destination.BlockSizeShift);
        long totalBytes = (long)segment.Blocks << source.BlockSizeShift;
        for (long done = 0; done < totalBytes;)
        {
            int count = (int)Math.Min(buffer.Length, totalBytes - done);
            BlockResult read = await source.Device.ReadAsync(sourceOffset + done, buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
            if (read != BlockResult.Ok) return Sense.CopyAbortedUnreachableCopyTarget;
            BlockResult written = await destination.Device.WriteAsync(destinationOffset + done, buffer.AsMemory(0, count), destination.WriteThrough, cancellationToken).ConfigureAwait(false);
            if (written != BlockResult.Ok) return written == BlockResult.NoSpace ? Sense.SpaceAllocationFailedWriteProtect : Sense.CopyAbortedUnreachableCopyTarget;
            done += count;
        }
        return null;
    }

    private static bool Fail(ScsiTask task, in SenseData sense)
    {
        task.CheckCondition(sense);
        return false;
    }
}
