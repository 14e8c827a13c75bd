using System.Runtime.CompilerServices;
using Sds.Gateway.Iscsi.Login;
using Sds.Gateway.Iscsi.Pdu;
using Sds.Gateway.Scsi;

namespace Sds.Gateway.Iscsi.Session;

/// <summary>
/// Turns a finished <see cref="ScsiTask"/> into Data-In PDUs and a SCSI Response (RFC 7143
/// §11.4, §11.7): status collapsed into the last Data-In (S bit) when the command succeeded,
/// residuals per the task contract, sense with its 2-byte SenseLength.
/// </summary>
internal static class ScsiResponder
{
    /// <summary>
    /// Sends the Data-In (if any) and the status of <paramref name="command"/>; with
    /// <paramref name="flush"/> false the PDUs wait for the read loop's next flush (see <see cref="PduSender"/>).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<bool> SendAsync(PduSender sender, ScsiCommandContext command, OperationalParameters parameters, bool targetFailure, bool flush = true)
    {
        ScsiTask task = command.Task;
        bool read = task.Direction is DataDirection.Read or DataDirection.Bidirectional;
        uint expected = task.ExpectedDataTransferLength;
        uint moved = task.Direction switch
        {
            DataDirection.Read => (uint)task.DataInLength,
            DataDirection.Write or DataDirection.Bidirectional => (uint)task.DataOut.Length,
            _ => 0u,
        };
        Residual.Compute(expected, task.Direction == DataDirection.Bidirectional ? 0 : task.CdbTransferLength, moved, out byte residualFlags, out uint residualCount);
        byte bidirectionalFlags = 0;
        uint bidirectionalResidual = 0;
        if (task.Direction == DataDirection.Bidirectional)
        {
            Residual.Compute((uint)command.ReadLength, 0, (uint)task.DataInLength, out byte flags, out bidirectionalResidual);
            // §11.4.1: o/u bits (bits 4 and 3) report the bidirectional read residual.
            bidirectionalFlags = (byte)(flags << 2);
        }
        int dataInLength = targetFailure || !read ? 0 : Math.Min(task.DataInLength, command.ReadLength);
        int expDataSN = 0;
        if (dataInLength > 0)
        {
            bool collapse = task.Direction == DataDirection.Read && task.Status is ScsiStatus.Good or ScsiStatus.ConditionMet;
            PduTemplate first = PduTemplate.For(IscsiOpcode.ScsiDataIn, 0, task.TaskTag);
            first.Lun = task.Lun;
            first.StatSN = StatSNPolicy.None;
            PduTemplate last = first;
            // §11.7.1: S (bit 0) with F carries status; O/U and Residual Count ride along.
            last.Flags = (byte)(0x80 | 0x01 | residualFlags);
            last.Byte3 = (byte)task.Status;
            last.Field44 = residualCount;
            last.StatSN = StatSNPolicy.Advance;
            int segmentMax = Math.Min(parameters.InitiatorMaxRecvDataSegmentLength, IscsiLimits.SendDataSegmentLengthBytesMax);
            expDataSN = await sender.SendDataInAsync(first, task.DataIn[..dataInLength], segmentMax, parameters.MaxBurstLength, collapse, last, flush).ConfigureAwait(false);
            if (expDataSN < 0) return false;
            if (collapse) return true;
        }
        PduTemplate response = PduTemplate.For(IscsiOpcode.ScsiResponse, (byte)(0x80 | residualFlags | bidirectionalFlags), task.TaskTag);
        // §11.4.3: Response 0x01 = target failure; status is then not meaningful.
        response.Byte2 = targetFailure ? (byte)0x01 : (byte)0x00;
        response.Byte3 = targetFailure ? (byte)0 : (byte)task.Status;
        response.Field36 = (uint)expDataSN;
        response.Field40 = bidirectionalResidual;
        response.Field44 = residualCount;
        ReadOnlyMemory<byte> sense = default;
        if (!targetFailure && task.Status == ScsiStatus.CheckCondition)
        {
            int length = SenseSegment.Encode(task.Sense, command.SenseBuffer);
            sense = command.SenseBuffer.AsMemory(0, length);
        }
        return await sender.SendAsync(response, sense, flush).ConfigureAwait(false);
    }
}
