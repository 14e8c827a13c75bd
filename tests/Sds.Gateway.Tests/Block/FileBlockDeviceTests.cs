using Sds.Gateway.Block;

namespace Sds.Gateway.Tests.Block;

/// <summary>
/// FileBlockDevice on a temp file: created sparse, positional I/O round trips, hole punching makes
/// ranges read as zeros and report deallocated, flush and FUA succeed. Method: real file, real syscalls.
/// </summary>
public sealed class FileBlockDeviceTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"sds-fbd-{Guid.NewGuid():N}.img");

    public void Dispose()
    {
        File.Delete(_path);
        File.Delete(_path + ".atomic");
    }

    [Fact]
    public void OperationsAfterDisposeAreHardwareErrorsNotExceptions()
    {
        // Goal: a command in flight when its LU is closed gets a value, never an exception.
        FileBlockDevice device = FileBlockDevice.Open(_path, 1L << 20);
        device.Dispose();
        byte[] block = new byte[512];
        Assert.Equal(BlockResult.HardwareError, device.ReadAsync(0, block, default).Now());
        Assert.Equal(BlockResult.HardwareError, device.WriteAsync(0, block, true, default).Now());
        Assert.Equal(BlockResult.HardwareError, device.FlushAsync(default).Now());
        Assert.Equal(BlockResult.HardwareError, device.UnmapAsync(0, 4096, default).Now());
        Assert.Equal(BlockResult.HardwareError, device.WriteAtomicAsync(0, block, false, default).Now());
        Assert.Equal(BlockResult.HardwareError, device.CompareAndWriteAsync(0, block, block, false, default).Now().Result);
        Assert.Equal(BlockResult.HardwareError, device.GetProvisioningStatusAsync(0, 4096, default).Now().Result);
        Assert.Equal(BlockResult.HardwareError, device.ResizeAsync(2L << 20, default).Now());
    }

    [Fact]
    public void CompareAndWriteIsAtomicUnderConcurrency()
    {
        // Goal: no lost update. Method: four threads increment a counter block with read + COMPARE AND
        // WRITE while another writes neighbouring blocks; the counter must equal the successful swaps.
        using FileBlockDevice device = FileBlockDevice.Open(_path, 1L << 20);
        int successes = 0;
        void Increment()
        {
            byte[] current = new byte[512];
            byte[] next = new byte[512];
            for (int i = 0; i < 200; i++)
            {
                device.ReadAsync(0, current, default).Now();
                long value = BitConverter.ToInt64(current);
                current.CopyTo(next, 0);
                BitConverter.TryWriteBytes(next, value + 1);
                if (device.CompareAndWriteAsync(0, current, next, false, default).Now().Result == BlockResult.Ok)
                    Interlocked.Increment(ref successes);
            }
        }
        void Scribble()
        {
            byte[] noise = new byte[4096];
            for (int i = 0; i < 400; i++) device.WriteAsync(4096 + (i % 16) * 4096, noise, false, default).Now();
        }
        Thread[] threads = [new(Increment), new(Increment), new(Increment), new(Increment), new(Scribble)];
        foreach (Thread thread in threads) thread.Start();
        foreach (Thread thread in threads) thread.Join();
        byte[] final = new byte[512];
        device.ReadAsync(0, final, default).Now();
        Assert.Equal(successes, BitConverter.ToInt64(final));
        Assert.True(successes > 0);
    }

    [Fact]
    public void AtomicWriteJournalIsReplayedOnOpen()
    {
        // Simulate a crash after the journal record became durable but before the in-place write.
        using (FileBlockDevice device = FileBlockDevice.Open(_path, 1L << 20)) { }
        byte[] data = new byte[8192];
        data.AsSpan().Fill(0x3C);
        using (AtomicWriteJournal journal = AtomicWriteJournal.Open(_path + ".atomic"))
            Assert.Equal(BlockResult.Ok, journal.Record(65536, data));
        byte[] back = new byte[8192];
        using (FileBlockDevice reopened = FileBlockDevice.Open(_path, 1L << 20))
            reopened.ReadAsync(65536, back, default).Now();
        Assert.Equal(data, back);
        using AtomicWriteJournal cleared = AtomicWriteJournal.Open(_path + ".atomic");
        Assert.False(cleared.TryReadPending(out _, out _));
    }

    [Fact]
    public void TornJournalRecordIsIgnored()
    {
        using (FileBlockDevice device = FileBlockDevice.Open(_path, 1L << 20)) { }
        byte[] data = new byte[4096];
        data.AsSpan().Fill(0x77);
        using (AtomicWriteJournal journal = AtomicWriteJournal.Open(_path + ".atomic"))
            journal.Record(0, data);
        // Tear the data behind the header: the checksum must reject the record.
        using (var stream = new FileStream(_path + ".atomic", FileMode.Open))
        {
            stream.Position = 32 + 100;
            stream.WriteByte(0x00);
        }
        using FileBlockDevice reopened = FileBlockDevice.Open(_path, 1L << 20);
        byte[] back = new byte[4096];
        reopened.ReadAsync(0, back, default).Now();
        Assert.True(back.AsSpan().IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void WriteAtomicLandsAndClearsTheJournal()
    {
        using FileBlockDevice device = FileBlockDevice.Open(_path, 1L << 20);
        byte[] data = new byte[2048];
        data.AsSpan().Fill(0x19);
        Assert.Equal(BlockResult.Ok, device.WriteAtomicAsync(4096, data, false, default).Now());
        byte[] back = new byte[2048];
        device.ReadAsync(4096, back, default).Now();
        Assert.Equal(data, back);
    }

    [Fact]
    public void NewFileIsSparseAndDeallocated()
    {
        using FileBlockDevice device = FileBlockDevice.Open(_path, 256L * 1024 * 1024);
        Assert.Equal(256L * 1024 * 1024, device.SizeBytes);
        ProvisioningStatus status = device.GetProvisioningStatusAsync(0, device.SizeBytes, default).Now();
        Assert.Equal(BlockResult.Ok, status.Result);
        Assert.False(status.Mapped);
        Assert.Equal(device.SizeBytes, status.LengthBytes);
    }

    [Fact]
    public void WriteReadPunchHoleAndProvisioning()
    {
        using FileBlockDevice device = FileBlockDevice.Open(_path, 16L * 1024 * 1024);
        byte[] data = new byte[64 * 1024];
        new Random(99).NextBytes(data);
        Assert.Equal(BlockResult.Ok, device.WriteAsync(1 << 20, data, forceUnitAccess: true, default).Now());
        byte[] back = new byte[data.Length];
        Assert.Equal(BlockResult.Ok, device.ReadAsync(1 << 20, back, default).Now());
        Assert.Equal(data, back);

        ProvisioningStatus mapped = device.GetProvisioningStatusAsync(1 << 20, data.Length, default).Now();
        Assert.True(mapped.Mapped);
        Assert.Equal(data.Length, mapped.LengthBytes);

        Assert.Equal(BlockResult.Ok, device.UnmapAsync(1 << 20, 32 * 1024, default).Now());
        ProvisioningStatus hole = device.GetProvisioningStatusAsync(1 << 20, data.Length, default).Now();
        Assert.False(hole.Mapped);
        Assert.Equal(32 * 1024, hole.LengthBytes);
        Assert.Equal(BlockResult.Ok, device.ReadAsync(1 << 20, back, default).Now());
        Assert.True(back.AsSpan(0, 32 * 1024).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(data.AsSpan(32 * 1024).ToArray(), back.AsSpan(32 * 1024).ToArray());
        Assert.Equal(BlockResult.Ok, device.FlushAsync(default).Now());
    }

    [Fact]
    public void WriteSameWithDeallocatePunchesAndPatternWrites()
    {
        using FileBlockDevice device = FileBlockDevice.Open(_path, 1L << 20);
        byte[] pattern = new byte[512];
        pattern.AsSpan().Fill(0x5A);
        Assert.Equal(BlockResult.Ok, device.WriteSameAsync(0, 8192, pattern, deallocate: false, default).Now());
        byte[] back = new byte[8192];
        device.ReadAsync(0, back, default).Now();
        Assert.True(back.AsSpan().IndexOfAnyExcept((byte)0x5A) < 0);
        Assert.Equal(BlockResult.Ok, device.WriteSameAsync(0, 8192, new byte[512], deallocate: true, default).Now());
        Assert.False(device.GetProvisioningStatusAsync(0, 8192, default).Now().Mapped);
    }

    [Fact]
    public void CompareAndWriteIsAtomicAndReportsMiscompare()
    {
        using FileBlockDevice device = FileBlockDevice.Open(_path, 1L << 20);
        byte[] zero = new byte[1024];
        byte[] ones = new byte[1024];
        ones.AsSpan().Fill(1);
        Assert.Equal(BlockResult.Ok, device.CompareAndWriteAsync(4096, zero, ones, false, default).Now().Result);
        CompareAndWriteResult again = device.CompareAndWriteAsync(4096, zero, ones, false, default).Now();
        Assert.Equal((BlockResult.Miscompare, 0L), (again.Result, again.MiscompareOffsetBytes));
    }

    [Fact]
    public void ReopenKeepsDataAndGrowsOnly()
    {
        using (FileBlockDevice device = FileBlockDevice.Open(_path, 1L << 20))
            {
                byte[] first = new byte[512];
                first.AsSpan(0, 4).Fill(9);
                device.WriteAsync(0, first, false, default).Now();
            }
        using FileBlockDevice reopened = FileBlockDevice.Open(_path, 4096);
        Assert.Equal(1L << 20, reopened.SizeBytes);
        byte[] back = new byte[512];
        reopened.ReadAsync(0, back, default).Now();
        Assert.Equal(9, back[3]);
    }
}
