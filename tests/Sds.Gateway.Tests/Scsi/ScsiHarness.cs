using Sds.Gateway.Block;
using Sds.Gateway.Scsi;

namespace Sds.Gateway.Tests.Scsi;

/// <summary>
/// A real <see cref="ScsiTargetDevice"/> with one <see cref="LogicalUnit"/> over a
/// <see cref="MemoryBlockDevice"/>, and a way to run raw CDB bytes through the dispatcher the way
/// the iSCSI layer does (Data-Out gathered first, Data-In sized to the expected length).
/// </summary>
internal sealed class ScsiHarness : IDisposable
{
    public static readonly Guid VolumeId = new("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");

    public ScsiHarness(long sizeBytes = 64L * 1024 * 1024, int blockSizeBytes = 512, bool readOnly = false, bool createNexus = false, bool removable = false)
    {
        Device = new MemoryBlockDevice(sizeBytes, blockSizeBytes);
        Unit = new LogicalUnit(Device, new LogicalUnitIdentity(VolumeId), readOnly, removable: removable);
        Target = new ScsiTargetDevice();
        Target.AddLogicalUnit(0, Unit);
        if (createNexus) Target.NexusCreated(Nexus);
    }

    public MemoryBlockDevice Device { get; }
    public LogicalUnit Unit { get; }
    public ScsiTargetDevice Target { get; }
    public ITNexus Nexus { get; } = NexusFor("iqn.2026-11.io.sds:initiator-a", 0x23d000000001);

    public static ITNexus NexusFor(string initiator, ulong isid, ushort relativePort = 1) =>
        new(initiator, isid, "iqn.2026-11.io.sds:demo", 1, relativePort, 1);

    public ScsiTask Run(byte[] cdb, byte[]? dataOut = null, int expectedLength = -1, ulong lun = 0, ITNexus? nexus = null)
    {
        var task = new ScsiTask();
        Run(task, cdb, dataOut, expectedLength, lun, nexus);
        return task;
    }

    public void Run(ScsiTask task, byte[] cdb, byte[]? dataOut = null, int expectedLength = -1, ulong lun = 0, ITNexus? nexus = null)
    {
        task.Reset();
        task.SetCdb(cdb);
        task.Nexus = nexus ?? Nexus;
        task.Lun = LunAddress.ToWire((ushort)lun);
        int length = expectedLength >= 0 ? expectedLength : dataOut?.Length ?? 64 * 1024;
        task.ExpectedDataTransferLength = (uint)length;
        if (dataOut is not null)
        {
            task.Direction = DataDirection.Write;
            task.DataOut = dataOut;
        }
        else
        {
            task.Direction = DataDirection.Read;
            task.DataIn = new byte[length];
        }
        ValueTask pending = Target.ExecuteAsync(task);
        Assert.True(pending.IsCompleted, "memory device commands complete synchronously");
        pending.GetAwaiter().GetResult();
    }

    public static byte[] DataIn(ScsiTask task) => task.DataIn.Span[..task.DataInLength].ToArray();

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    public void Dispose() => Device.Dispose();
}
