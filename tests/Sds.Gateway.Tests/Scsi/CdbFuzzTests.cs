using Sds.Gateway.Scsi;

namespace Sds.Gateway.Tests.Scsi;

/// <summary>
/// Seeded CDB fuzzing (DESIGN.md §9: every byte from the network is hostile): random CDBs — random
/// bytes behind real opcodes, random lengths, random Data-Out and expected lengths, random LUNs and
/// nexuses — never throw and always end with a defined status. Reproduce a failure with the seed
/// printed in the assertion message.
/// </summary>
public sealed class CdbFuzzTests
{
    private const int SeedDefault = 20261120;
    private const int Iterations = 20_000;

    // SDS_FUZZ_SEED reproduces (or explores) another run; the default keeps CI deterministic.
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("SDS_FUZZ_SEED"), out int seed) ? seed : SeedDefault;

    [Fact]
    public void RandomCdbsNeverThrow()
    {
        var random = new Random(Seed);
        using var harness = new ScsiHarness(sizeBytes: 2L * 1024 * 1024, createNexus: true);
        ITNexus other = ScsiHarness.NexusFor("iqn.2026-11.io.sds:fuzz", 0x1234);
        harness.Target.NexusCreated(other);
        byte[] supported = CommandTable.DirectAccess.Supported.Select(row => (byte)row.Opcode).Distinct().ToArray();
        var task = new ScsiTask();
        for (int i = 0; i < Iterations; i++)
        {
            int length = random.Next(0, 4) == 0 ? random.Next(1, 33) : 16;
            byte[] cdb = new byte[length];
            random.NextBytes(cdb);
            if (random.Next(0, 8) != 0) cdb[0] = supported[random.Next(supported.Length)];
            // Keep transfers small so the run stays quick, but do not constrain anything else.
            if (length >= 10 && random.Next(0, 2) == 0) { cdb[7] = 0; cdb[8] &= 0x0F; }
            byte[]? dataOut = random.Next(0, 2) == 0 ? RandomBytes(random, random.Next(0, 8192)) : null;
            if (dataOut is not null && random.Next(0, 2) == 0) MatchParameterListLength(cdb, dataOut, random);
            int expected = random.Next(0, 16384);
            ulong lun = random.Next(0, 10) == 0 ? (ulong)random.Next(0, 300) : 0;
            ITNexus nexus = random.Next(0, 2) == 0 ? harness.Nexus : other;
            try
            {
                harness.Run(task, cdb, dataOut, dataOut?.Length ?? expected, lun, nexus);
            }
            catch (Exception exception)
            {
                Assert.Fail($"seed={Seed} iteration={i} cdb={Convert.ToHexString(cdb)}: {exception}");
            }
            Assert.True(Enum.IsDefined(task.Status), $"seed={Seed} iteration={i}: undefined status {task.Status}");
            Assert.True(task.DataInLength <= task.DataIn.Length, $"seed={Seed} iteration={i}: Data-In overrun");
        }
    }

    // Parameter-list commands get a CDB length that agrees with the Data-Out, and a list whose own
    // length fields agree with it, so the fuzzing reaches the list parsers instead of stopping at
    // PARAMETER LIST LENGTH ERROR.
    private static void MatchParameterListLength(byte[] cdb, byte[] dataOut, Random random)
    {
        int length = dataOut.Length;
        switch (cdb[0])
        {
            case 0x15 when cdb.Length >= 6: cdb[4] = (byte)Math.Min(length, 255); break;
            case 0x42 or 0x55 when cdb.Length >= 10:
                cdb[7] = (byte)(Math.Min(length, 0xFFFF) >> 8);
                cdb[8] = (byte)Math.Min(length, 0xFFFF);
                break;
            case 0x5F when cdb.Length >= 10:
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(5), (uint)(random.Next(0, 2) == 0 ? 24 : length));
                break;
            case 0x83 when cdb.Length >= 16 && length >= 16:
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), (uint)length);
                int cscd = 32 * random.Next(0, 3);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(dataOut.AsSpan(2), (ushort)cscd);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(dataOut.AsSpan(8), (uint)Math.Max(0, length - 16 - cscd));
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(dataOut.AsSpan(12), 0);
                if (cscd > 0 && length >= 16 + cscd) dataOut[16] = 0xE4;
                break;
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
