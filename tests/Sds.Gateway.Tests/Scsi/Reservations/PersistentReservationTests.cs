using System.Buffers.Binary;
using Sds.Gateway.Block;
using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Reservations;
using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Tests.Scsi.Reservations;

/// <summary>
/// PERSISTENT RESERVE IN/OUT (SPC-4 r37 §5.9, §6.14–6.15) and RESERVE/RELEASE(6): registration,
/// reservation types and their conflicts (table 48), preemption with unit attentions, APTPL
/// persistence through the file store. Method: real PR OUT parameter lists from two I_T nexuses.
/// </summary>
public sealed class PersistentReservationTests
{
    private static readonly ITNexus B = ScsiHarness.NexusFor("iqn.2026-11.io.sds:initiator-b", 0x23d000000002, relativePort: 2);

    private static byte[] ProutCdb(int action, int type = 0) =>
        [0x5F, (byte)action, (byte)type, 0, 0, 0, 0, 0, 24, 0];

    private static byte[] Parameters(ulong key, ulong actionKey, bool aptpl = false)
    {
        byte[] list = new byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(list, key);
        BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(8), actionKey);
        if (aptpl) list[20] = 0x01;
        return list;
    }

    private static ScsiTask Prout(ScsiHarness harness, ITNexus nexus, int action, ulong key, ulong actionKey, int type = 0, bool aptpl = false) =>
        harness.Run(ProutCdb(action, type), Parameters(key, actionKey, aptpl), nexus: nexus);

    private static ScsiTask Write(ScsiHarness harness, ITNexus nexus) =>
        harness.Run(ScsiHarness.Hex("2a 00 00 00 00 00 00 00 01 00"), new byte[512], nexus: nexus);

    private static ScsiTask Read(ScsiHarness harness, ITNexus nexus) =>
        harness.Run(ScsiHarness.Hex("28 00 00 00 00 00 00 00 01 00"), expectedLength: 512, nexus: nexus);

    [Fact]
    public void RegisterReadKeysAndGeneration()
    {
        using var harness = new ScsiHarness();
        ScsiAssert.Good(Prout(harness, harness.Nexus, 0x00, 0, 0xAAAA));
        ScsiAssert.Good(Prout(harness, B, 0x00, 0, 0xBBBB));
        // Registering again with a wrong key conflicts (§5.9.7.3).
        Assert.Equal(ScsiStatus.ReservationConflict, Prout(harness, B, 0x00, 0x1234, 0xCCCC).Status);
        byte[] keys = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("5e 00 00 00 00 00 00 01 00 00")));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(keys));
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32BigEndian(keys.AsSpan(4)));
        Assert.Equal(0xAAAAul, BinaryPrimitives.ReadUInt64BigEndian(keys.AsSpan(8)));
        Assert.Equal(0xBBBBul, BinaryPrimitives.ReadUInt64BigEndian(keys.AsSpan(16)));
    }

    [Theory]
    [InlineData(1, false, true, true)]   // Write Exclusive: others read, nobody else writes
    [InlineData(3, false, false, false)] // Exclusive Access: others neither read nor write
    [InlineData(5, true, true, true)]    // WE registrants only: registered B writes
    [InlineData(6, true, true, true)]    // EA registrants only: registered B reads and writes
    [InlineData(7, true, true, true)]    // WE all registrants
    [InlineData(8, true, true, true)]    // EA all registrants
    public void ReservationTypesDecideConflicts(int type, bool registeredWrites, bool registeredReads, bool unregisteredReads)
    {
        using var harness = new ScsiHarness();
        ITNexus c = ScsiHarness.NexusFor("iqn.2026-11.io.sds:initiator-c", 0x3);
        ScsiAssert.Good(Prout(harness, harness.Nexus, 0x00, 0, 0xA));
        ScsiAssert.Good(Prout(harness, B, 0x00, 0, 0xB));
        ScsiAssert.Good(Prout(harness, harness.Nexus, 0x01, 0xA, 0, type));
        ScsiAssert.Good(Write(harness, harness.Nexus));
        Assert.Equal(registeredWrites, Write(harness, B).Status == ScsiStatus.Good);
        Assert.Equal(registeredReads, Read(harness, B).Status == ScsiStatus.Good);
        Assert.Equal(ScsiStatus.ReservationConflict, Write(harness, c).Status);
        bool exclusiveAccessForOthers = type is 3 or 6 or 8;
        Assert.Equal(unregisteredReads && !exclusiveAccessForOthers, Read(harness, c).Status == ScsiStatus.Good);
        // INQUIRY and PR IN are allowed for everyone under every type.
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("12 00 00 00 60 00"), nexus: c));
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("5e 01 00 00 00 00 00 00 40 00"), nexus: c));
    }

    [Fact]
    public void ReadReservationAndFullStatus()
    {
        using var harness = new ScsiHarness();
        Prout(harness, harness.Nexus, 0x00, 0, 0xA);
        Prout(harness, harness.Nexus, 0x01, 0xA, 0, 1);
        byte[] reservation = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("5e 01 00 00 00 00 00 00 40 00")));
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32BigEndian(reservation.AsSpan(4)));
        Assert.Equal(0xAul, BinaryPrimitives.ReadUInt64BigEndian(reservation.AsSpan(8)));
        Assert.Equal(1, reservation[21]);
        byte[] full = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("5e 03 00 00 00 00 00 04 00 00")));
        Assert.Equal(0x01, full[8 + 12]); // R_HOLDER
        Assert.Equal(1, full[8 + 13]);
        // iSCSI TransportID, format 01b: "name,i,0x" + ISID.
        Assert.Equal(0x45, full[8 + 24]);
        string name = System.Text.Encoding.ASCII.GetString(full, 8 + 28, harness.Nexus.InitiatorPortName.Length);
        Assert.Equal(harness.Nexus.InitiatorPortName, name);
    }

    [Fact]
    public void PreemptRemovesRegistrationAndRaisesUnitAttention()
    {
        using var harness = new ScsiHarness();
        harness.Target.NexusCreated(harness.Nexus);
        harness.Target.NexusCreated(B);
        harness.Run(ScsiHarness.Hex("00 00 00 00 00 00"));
        harness.Run(ScsiHarness.Hex("00 00 00 00 00 00"), nexus: B);
        Prout(harness, harness.Nexus, 0x00, 0, 0xA);
        Prout(harness, B, 0x00, 0, 0xB);
        ScsiAssert.Good(Prout(harness, B, 0x01, 0xB, 0, 1));
        ScsiAssert.Good(Prout(harness, harness.Nexus, 0x04, 0xA, 0xB, 3));
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex("00 00 00 00 00 00"), nexus: B), SenseKey.UnitAttention, 0x2A, 0x05);
        Assert.Equal(ScsiStatus.ReservationConflict, Read(harness, B).Status);
        byte[] reservation = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("5e 01 00 00 00 00 00 00 40 00")));
        Assert.Equal(3, reservation[21]);
    }

    [Fact]
    public void ReleaseOfRegistrantsOnlyTellsOtherRegistrants()
    {
        using var harness = new ScsiHarness();
        harness.Target.NexusCreated(B);
        harness.Run(ScsiHarness.Hex("00 00 00 00 00 00"), nexus: B);
        Prout(harness, harness.Nexus, 0x00, 0, 0xA);
        Prout(harness, B, 0x00, 0, 0xB);
        Prout(harness, harness.Nexus, 0x01, 0xA, 0, 5);
        // Wrong type: INVALID RELEASE OF PERSISTENT RESERVATION.
        ScsiAssert.Check(Prout(harness, harness.Nexus, 0x02, 0xA, 0, 1), SenseKey.IllegalRequest, 0x26, 0x04);
        ScsiAssert.Good(Prout(harness, harness.Nexus, 0x02, 0xA, 0, 5));
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex("00 00 00 00 00 00"), nexus: B), SenseKey.UnitAttention, 0x2A, 0x04);
    }

    [Fact]
    public void RegisterAndMoveHandsTheReservationToAnotherNexus()
    {
        using var harness = new ScsiHarness();
        Prout(harness, harness.Nexus, 0x00, 0, 0xA);
        ScsiAssert.Good(Prout(harness, harness.Nexus, 0x01, 0xA, 0, 1));
        // Parameter list: keys, UNREG, relative target port 2, TransportID of B ("name,i,0x" + ISID).
        byte[] transportId = new byte[64];
        int length = Sds.Gateway.Scsi.Reservations.PersistentReserveIn.WriteTransportId(RegistrantId.Of(B), transportId);
        byte[] list = new byte[24 + length];
        BinaryPrimitives.WriteUInt64BigEndian(list, 0xA);
        BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(8), 0xB);
        list[17] = 0x02;
        BinaryPrimitives.WriteUInt16BigEndian(list.AsSpan(18), B.RelativeTargetPortId);
        BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(20), (uint)length);
        transportId.AsSpan(0, length).CopyTo(list.AsSpan(24));
        ScsiAssert.Good(harness.Run([0x5F, 0x07, 0x01, 0, 0, 0, 0, 0, (byte)list.Length, 0], list));
        ScsiAssert.Good(Write(harness, B));
        Assert.Equal(ScsiStatus.ReservationConflict, Write(harness, harness.Nexus).Status);
        byte[] keys = ScsiHarness.DataIn(harness.Run(ScsiHarness.Hex("5e 00 00 00 00 00 00 01 00 00")));
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32BigEndian(keys.AsSpan(4)));
        Assert.Equal(0xBul, BinaryPrimitives.ReadUInt64BigEndian(keys.AsSpan(8)));
    }

    [Fact]
    public void InvalidCdbAndParameterListLengths()
    {
        using var harness = new ScsiHarness();
        ScsiAssert.Check(harness.Run(ScsiHarness.Hex("5e 07 00 00 00 00 00 00 40 00")), SenseKey.IllegalRequest, 0x24, 0x00);
        ScsiAssert.Check(harness.Run([0x5F, 0x00, 0, 0, 0, 0, 0, 0, 20, 0], new byte[20]), SenseKey.IllegalRequest, 0x1A, 0x00);
        Prout(harness, harness.Nexus, 0x00, 0, 0xA);
        ScsiAssert.Check(Prout(harness, harness.Nexus, 0x01, 0xA, 0, 2), SenseKey.IllegalRequest, 0x24, 0x00);
    }

    [Fact]
    public async Task Spc2ReserveConflictsAndIsReleasedByNexusLoss()
    {
        using var harness = new ScsiHarness();
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("16 00 00 00 00 00")));
        Assert.Equal(ScsiStatus.ReservationConflict, harness.Run(ScsiHarness.Hex("16 00 00 00 00 00"), nexus: B).Status);
        Assert.Equal(ScsiStatus.ReservationConflict, Read(harness, B).Status);
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("12 00 00 00 60 00"), nexus: B));
        await harness.Target.NexusLostAsync(harness.Nexus);
        ScsiAssert.Good(harness.Run(ScsiHarness.Hex("16 00 00 00 00 00"), nexus: B));
    }

    [Fact]
    public void AptplStatePersistsInTheFileStore()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sds-pr-{Guid.NewGuid():N}.pr");
        try
        {
            using (var device = new MemoryBlockDevice(1 << 20))
            {
                var target = new ScsiTargetDevice();
                target.AddLogicalUnit(0, new LogicalUnit(device, new LogicalUnitIdentity(ScsiHarness.VolumeId), false, new FilePersistentReservationStore(path)));
                var task = new ScsiTask();
                task.SetCdb(ProutCdb(0x00));
                task.Nexus = B;
                task.DataOut = Parameters(0, 0xFEED, aptpl: true);
                task.ExpectedDataTransferLength = 24;
                Assert.True(target.ExecuteAsync(task).IsCompletedSuccessfully);
                ScsiAssert.Good(task);
            }
            PersistentReservationSnapshot loaded = new FilePersistentReservationStore(path).Load();
            Assert.True(loaded.Aptpl);
            Assert.Equal(0xFEEDul, Assert.Single(loaded.Registrations).Key);
            Assert.Equal(RegistrantId.Of(B), loaded.Registrations[0].Registrant);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
