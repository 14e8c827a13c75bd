using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Reservations;

namespace Sds.Gateway.Tests.Scsi;

/// <summary>
/// The dispatch table is data, so its invariants are checked as data: CDB lengths follow the
/// opcode group code (SPC-4 r37 §4.2.5.1), usage maps start with their opcode, medium-writing rows
/// conflict under reservations, gaps answer INVALID COMMAND OPERATION CODE.
/// </summary>
public sealed class CommandTableTests
{
    public static TheoryData<byte> SupportedOpcodes()
    {
        var data = new TheoryData<byte>();
        foreach (byte opcode in CommandTable.DirectAccess.Supported.Select(row => (byte)row.Opcode).Distinct()) data.Add(opcode);
        return data;
    }

    [Theory]
    [MemberData(nameof(SupportedOpcodes))]
    public void RowsAreConsistentWithTheirOpcode(byte opcode)
    {
        CommandDescriptor row = CommandTable.DirectAccess[opcode];
        int expectedLength = (opcode >> 5) switch { 0 => 6, 1 or 2 => 10, 4 => 16, 5 => 12, _ => -1 };
        Assert.Equal(expectedLength, row.CdbLengthBytes);
        IEnumerable<CommandDescriptor> rows = row.ServiceActions is { } actions ? actions.OfType<CommandDescriptor>() : [row];
        foreach (CommandDescriptor action in rows)
        {
            Assert.Equal(opcode, action.CdbUsage[0]);
            Assert.Equal(action.CdbLengthBytes, action.CdbUsage.Length);
            if ((action.Flags & CommandFlags.WritesMedium) != 0) Assert.Equal(PrAccess.Write, action.ReservationAccess);
            Assert.Equal(row.ServiceActions is not null, action.HasServiceAction);
        }
    }

    [Fact]
    public void OnlyInquiryReportLunsAndRequestSenseServeMissingLuns()
    {
        byte[] served = CommandTable.DirectAccess.Supported
            .Where(row => (row.Flags & CommandFlags.ServedWithoutLogicalUnit) != 0)
            .Select(row => (byte)row.Opcode).OrderBy(b => b).ToArray();
        Assert.Equal(new byte[] { 0x03, 0x12, 0xA0 }, served);
    }

    [Fact]
    public void GapsAreUnsupported()
    {
        int supported = 0;
        for (int opcode = 0; opcode < 256; opcode++)
            if (CommandTable.DirectAccess[(byte)opcode].IsSupported || CommandTable.DirectAccess[(byte)opcode].ServiceActions is not null) supported++;
        Assert.InRange(supported, 40, 80);
        Assert.False(CommandTable.DirectAccess[0x48].IsSupported); // SANITIZE is not offered
        Assert.False(CommandTable.DirectAccess[0x04].IsSupported); // FORMAT UNIT is not offered
    }
}
