using System.Buffers;
using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Spc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// REPORT SUPPORTED OPERATION CODES (MAINTENANCE IN, service action 0Ch), SPC-4 r37 §6.35.
/// Answers from the <see cref="CommandTable"/> rows themselves: there is no second opcode list.
/// </summary>
internal static class ReportSupportedOperationCodes
{
    private const int TimeoutsDescriptorBytes = 12;

    /// <summary>All commands (options 000b) or one command (001b, 010b, 011b), with optional timeouts descriptors.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        bool timeouts = (cdb[2] & 0x80) != 0;
        int options = cdb[2] & 0x07;
        byte requestedOpcode = cdb[3];
        ushort requestedAction = BinaryPrimitives.ReadUInt16BigEndian(cdb[4..]);
        int allocationLength = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]), int.MaxValue);
        CommandTable table = unit.Target!.Commands;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            Span<byte> response = buffer.AsSpan(0, 16 * 1024);
            response.Clear();
            int length;
            switch (options)
            {
                case 0b000:
                    length = WriteAll(unit, table, timeouts, response);
                    break;
                case 0b001:
                case 0b010:
                case 0b011:
                {
                    CommandDescriptor row = table[requestedOpcode];
                    bool hasActions = row.ServiceActions is not null;
                    // 001b must name an opcode without service actions, 010b one with them (SPC-4 r37 table 134).
                    if ((options == 0b001 && hasActions) || (options == 0b010 && !hasActions))
                        return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(2, 2));
                    CommandDescriptor? command = hasActions
                        ? (requestedAction < 32 ? row.ServiceActions![requestedAction] : null)
                        : row.IsSupported ? row : null;
                    if (command is not null && !command.IsAvailableOn(unit)) command = null;
                    length = WriteOne(command, timeouts, response);
                    break;
                }
                default:
                    return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(2, 2));
            }
            return CommandResult.DataIn(task, response[..length], allocationLength);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int WriteAll(LogicalUnit unit, CommandTable table, bool timeouts, Span<byte> response)
    {
        int at = 4;
        foreach (CommandDescriptor command in table.Supported)
        {
            if (!command.IsAvailableOn(unit)) continue;
            Span<byte> descriptor = response[at..];
            descriptor[0] = (byte)command.Opcode;
            BinaryPrimitives.WriteUInt16BigEndian(descriptor[2..], command.ServiceAction);
            descriptor[5] = (byte)((timeouts ? 0x02 : 0x00) | (command.HasServiceAction ? 0x01 : 0x00));
            BinaryPrimitives.WriteUInt16BigEndian(descriptor[6..], (ushort)command.CdbLengthBytes);
            at += 8;
            if (timeouts)
            {
                WriteTimeouts(response[at..]);
                at += TimeoutsDescriptorBytes;
            }
        }
        BinaryPrimitives.WriteUInt32BigEndian(response, (uint)(at - 4));
        return at;
    }

    private static int WriteOne(CommandDescriptor? command, bool timeouts, Span<byte> response)
    {
        if (command is null)
        {
            // SUPPORT 001b: not supported; no CDB usage data follows.
            response[1] = 0x01;
            return 4;
        }
        // SUPPORT 011b: supported as the standard says.
        response[1] = (byte)((timeouts ? 0x80 : 0x00) | 0x03);
        BinaryPrimitives.WriteUInt16BigEndian(response[2..], (ushort)command.CdbUsage.Length);
        command.CdbUsage.CopyTo(response[4..]);
        int at = 4 + command.CdbUsage.Length;
        if (timeouts)
        {
            WriteTimeouts(response[at..]);
            at += TimeoutsDescriptorBytes;
        }
        return at;
    }

    // SPC-4 r37 §6.35.4 command timeouts descriptor: no nominal or recommended timeout reported.
    private static void WriteTimeouts(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, 0x000A);
        destination[2..TimeoutsDescriptorBytes].Clear();
    }
}
