using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Spc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// MODE SELECT (6) and (10), SPC-4 r37 §6.9–6.10: validates the whole parameter list first
/// (header, block descriptor, every page against its changeable mask), then applies it, saves it
/// with SP, and tells the other I_T nexuses MODE PARAMETERS CHANGED (SPC-4 r37 §7.5.1).
/// </summary>
internal static class ModeSelect
{
    /// <summary>Parses, validates and applies the mode parameter list.</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        bool ten = cdb[0] == (byte)ScsiOpcode.ModeSelect10;
        bool pageFormat = (cdb[1] & 0x10) != 0;
        bool save = (cdb[1] & 0x01) != 0;
        if ((cdb[1] & 0xEE) != 0) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1));
        int parameterLength = ten ? BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]) : cdb[4];
        task.CdbTransferLength = (uint)parameterLength;
        if (parameterLength == 0) return CommandResult.Good;
        // Only the page format is implemented; vendor-specific (PF = 0) lists are refused.
        if (!pageFormat) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(1, 4));
        if (task.DataOut.Length < parameterLength) return CommandResult.Check(task, Sense.ParameterListLengthError);
        ReadOnlySpan<byte> list = task.DataOut.Span[..parameterLength];

        int headerBytes = ten ? 8 : 4;
        if (list.Length < headerBytes) return CommandResult.Check(task, Sense.ParameterListLengthError);
        int descriptorBytes = ten ? BinaryPrimitives.ReadUInt16BigEndian(list[6..]) : list[3];
        bool longLba = ten && (list[4] & 0x01) != 0;
        if (descriptorBytes != 0 && descriptorBytes != (longLba ? 16 : 8))
            return CommandResult.Check(task, Sense.InvalidFieldInParameterListAt(ten ? 6 : 3));
        if (list.Length < headerBytes + descriptorBytes) return CommandResult.Check(task, Sense.ParameterListLengthError);
        if (descriptorBytes != 0)
        {
            // The logical block length cannot be changed (no FORMAT UNIT).
            int lengthAt = headerBytes + (longLba ? 12 : 4);
            uint blockLength = longLba ? BinaryPrimitives.ReadUInt32BigEndian(list[lengthAt..]) : BinaryPrimitives.ReadUInt32BigEndian(list[lengthAt..]) & 0x00FF_FFFF;
            if (blockLength != unit.BlockSizeBytes) return CommandResult.Check(task, Sense.InvalidFieldInParameterListAt(lengthAt + 1));
        }

        lock (unit.ModePages.Gate)
        {
            int at = headerBytes + descriptorBytes;
            if (!Validate(unit, task, list, at)) return new(ScsiStatus.CheckCondition);
            bool changed = false;
            while (at < list.Length)
            {
                ModePage page = unit.ModePages.Find(list[at] & 0x3F)!;
                for (int i = 2; i < page.LengthBytes; i++)
                {
                    byte value = (byte)((page.Current[i] & ~page.Changeable[i]) | (list[at + i] & page.Changeable[i]));
                    changed |= value != page.Current[i];
                    page.Current[i] = value;
                }
                if (save) page.Current.CopyTo(page.Saved, 0);
                at += page.LengthBytes;
            }
            if (changed) unit.UnitAttentions.EstablishForAll(Sense.ModeParametersChanged, except: task.Nexus);
        }
        return CommandResult.Good;
    }

    private static bool Validate(LogicalUnit unit, ScsiTask task, ReadOnlySpan<byte> list, int at)
    {
        while (at < list.Length)
        {
            if (list.Length - at < 2) return Fail(task, Sense.ParameterListLengthError);
            // SPF (subpage format) pages do not exist here.
            if ((list[at] & 0x40) != 0) return Fail(task, Sense.InvalidFieldInParameterListAt(at, 6));
            ModePage? page = unit.ModePages.Find(list[at] & 0x3F);
            if (page is null) return Fail(task, Sense.InvalidFieldInParameterListAt(at));
            if (list[at + 1] != page.LengthBytes - 2) return Fail(task, Sense.InvalidFieldInParameterListAt(at + 1));
            if (list.Length - at < page.LengthBytes) return Fail(task, Sense.ParameterListLengthError);
            for (int i = 2; i < page.LengthBytes; i++)
            {
                // SPC-4 r37 §6.9: a bit that is not changeable must be sent with its current value.
                int bad = (list[at + i] ^ page.Current[i]) & ~page.Changeable[i];
                if (bad != 0) return Fail(task, Sense.InvalidFieldInParameterListAt(at + i, 31 - System.Numerics.BitOperations.LeadingZeroCount((uint)bad)));
            }
            at += page.LengthBytes;
        }
        return true;
    }

    private static bool Fail(ScsiTask task, in Sds.Gateway.Scsi.Sense.SenseData sense)
    {
        task.CheckCondition(sense);
        return false;
    }
}
