using System.Buffers.Binary;

namespace Sds.Gateway.Scsi.Spc;

using Sense = Sds.Gateway.Scsi.Sense.Sense;

/// <summary>
/// MODE SENSE (6) and (10), SPC-4 r37 §6.11–6.12: header, optional block descriptor (short, or
/// long with LLBAA), then the requested page(s) in the requested value set.
/// </summary>
internal static class ModeSense
{
    private const int ResponseBytesMax = 512;

    /// <summary>Serves one page or all pages (3Fh).</summary>
    public static ValueTask<ScsiStatus> Execute(LogicalUnit unit, ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb;
        bool ten = cdb[0] == (byte)ScsiOpcode.ModeSense10;
        bool disableBlockDescriptors = (cdb[1] & 0x08) != 0;
        bool longLba = ten && (cdb[1] & 0x10) != 0;
        int pageControl = cdb[2] >> 6;
        int pageCode = cdb[2] & 0x3F;
        byte subpage = cdb[3];
        int allocationLength = ten ? BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]) : cdb[4];

        // No subpages here: only 00h, or FFh ("all subpages", which is just the page).
        if (subpage != 0x00 && subpage != 0xFF) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(3));
        ModePage? single = null;
        if (pageCode != 0x3F)
        {
            single = unit.ModePages.Find(pageCode);
            if (single is null) return CommandResult.Check(task, Sense.InvalidFieldInCdbAt(2, 5));
        }

        Span<byte> response = stackalloc byte[ResponseBytesMax];
        response.Clear();
        int headerBytes = ten ? 8 : 4;
        int descriptorBytes = disableBlockDescriptors ? 0 : longLba ? 16 : 8;
        int at = headerBytes;
        WriteBlockDescriptor(unit, response.Slice(at, descriptorBytes), longLba);
        at += descriptorBytes;
        lock (unit.ModePages.Gate)
        {
            if (single is not null)
            {
                at += WritePage(single, pageControl, response[at..]);
            }
            else
            {
                foreach (ModePage page in unit.ModePages.Pages) at += WritePage(page, pageControl, response[at..]);
            }
        }

        // DEVICE-SPECIFIC PARAMETER (SBC-3 r36 §6.4.1): WP and DPOFUA.
        byte deviceSpecific = (byte)(0x10 | (unit.ReadOnly || unit.ModePages.SoftwareWriteProtect ? 0x80 : 0x00));
        if (ten)
        {
            BinaryPrimitives.WriteUInt16BigEndian(response, (ushort)(at - 2));
            response[3] = deviceSpecific;
            response[4] = longLba ? (byte)0x01 : (byte)0x00;
            BinaryPrimitives.WriteUInt16BigEndian(response[6..], (ushort)descriptorBytes);
        }
        else
        {
            response[0] = (byte)(at - 1);
            response[2] = deviceSpecific;
            response[3] = (byte)descriptorBytes;
        }
        return CommandResult.DataIn(task, response[..at], allocationLength);
    }

    private static int WritePage(ModePage page, int pageControl, Span<byte> destination)
    {
        page.Select(pageControl).CopyTo(destination);
        // PS: the page can be saved (MODE SELECT with SP = 1).
        destination[0] = (byte)(page.Code | 0x80);
        return page.LengthBytes;
    }

    // SBC-3 r36 §6.4.2 (short) and §6.4.3 (long LBA) block descriptors.
    private static void WriteBlockDescriptor(LogicalUnit unit, Span<byte> destination, bool longLba)
    {
        if (destination.IsEmpty) return;
        ulong blocks = unit.BlockCount;
        if (longLba)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination, blocks);
            BinaryPrimitives.WriteUInt32BigEndian(destination[12..], (uint)unit.BlockSizeBytes);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, blocks > uint.MaxValue ? uint.MaxValue : (uint)blocks);
            BinaryPrimitives.WriteUInt32BigEndian(destination[4..], (uint)unit.BlockSizeBytes & 0x00FF_FFFF);
        }
    }
}
