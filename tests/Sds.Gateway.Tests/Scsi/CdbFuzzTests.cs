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
    private const int Seed = 20261120;
    private const int Iterations = 20_000;

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

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
