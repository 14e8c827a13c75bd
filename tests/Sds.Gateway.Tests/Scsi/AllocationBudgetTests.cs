using Sds.Gateway.Scsi;

namespace Sds.Gateway.Tests.Scsi;

/// <summary>
/// STYLE "Budgets, not timings": after warm-up, 10,000 READ(10) and 10,000 WRITE(10) dispatches
/// through ScsiTargetDevice → LogicalUnit → MemoryBlockDevice allocate nothing on the calling
/// thread. Method: one pooled ScsiTask and fixed buffers, as the transport uses them, and
/// GC.GetAllocatedBytesForCurrentThread() before and after.
/// </summary>
public sealed class AllocationBudgetTests
{
    private const int Iterations = 10_000;

    [Fact]
    public void ReadAndWriteDispatchesAllocateNothing()
    {
        using var harness = new ScsiHarness(sizeBytes: 16L * 1024 * 1024);
        var task = new ScsiTask();
        byte[] dataOut = new byte[4096];
        byte[] dataIn = new byte[4096];
        byte[] write10 = ScsiHarness.Hex("2a 00 00 00 01 00 00 00 08 00");
        byte[] read10 = ScsiHarness.Hex("28 00 00 00 01 00 00 00 08 00");
        ulong wireLun = LunAddress.ToWire(0);

        for (int i = 0; i < 200; i++)
        {
            Dispatch(harness, task, write10, wireLun, dataOut, default);
            Dispatch(harness, task, read10, wireLun, default, dataIn);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Iterations; i++)
        {
            Dispatch(harness, task, write10, wireLun, dataOut, default);
            Dispatch(harness, task, read10, wireLun, default, dataIn);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(ScsiStatus.Good, task.Status);
        Assert.True(allocated == 0, $"{allocated} bytes for {2 * Iterations} commands ({(double)allocated / (2 * Iterations):F2} bytes/command)");
    }

    private static void Dispatch(ScsiHarness harness, ScsiTask task, byte[] cdb, ulong wireLun, Memory<byte> dataOut, Memory<byte> dataIn)
    {
        task.Reset();
        task.SetCdb(cdb);
        task.Nexus = harness.Nexus;
        task.Lun = wireLun;
        task.ExpectedDataTransferLength = 4096;
        task.DataOut = dataOut;
        task.DataIn = dataIn;
        ValueTask pending = harness.Target.ExecuteAsync(task);
        if (!pending.IsCompletedSuccessfully) throw new InvalidOperationException("memory device completes synchronously");
    }
}
