using System.Numerics;
using Sds.Gateway.Block;
using Sds.Gateway.Scsi.Reservations;
using Sds.Gateway.Scsi.Sbc;
using Sds.Gateway.Scsi.Spc;

namespace Sds.Gateway.Scsi;

/// <summary>
/// A SCSI logical unit (SAM-5 §4.6.5) of the direct-access (SBC-3) type: a block device, its
/// identity, and the per-LU state the command set keeps (unit attentions, mode pages,
/// reservations). Commands reach it only through <see cref="ScsiTargetDevice"/>'s dispatcher.
/// </summary>
internal sealed class LogicalUnit
{
    /// <summary>Creates a logical unit over <paramref name="device"/>.</summary>
    /// <remarks>
    /// Reservations: pass <paramref name="reservations"/> for shared (cluster) state; otherwise the
    /// unit keeps its own <see cref="PersistentReservations"/>, persisting APTPL state through
    /// <paramref name="reservationStore"/> (memory when null).
    /// Removable (like tgt's <c>removable=1</c> LU parameter): RMB is set in the standard INQUIRY
    /// data and START STOP UNIT LOEJ ejects and loads the medium, subject to PREVENT ALLOW MEDIUM
    /// REMOVAL (docs/decisions.md: a target attribute, Target.removable). Pass <paramref name="medium"/> for shared
    /// (cluster) medium state; otherwise the unit keeps its own <see cref="RemovableMedium"/>.
    /// </remarks>
    public LogicalUnit(IBlockDevice device, LogicalUnitIdentity identity, bool readOnly = false,
        IPersistentReservationStore? reservationStore = null, IPersistentReservations? reservations = null,
        bool removable = false, IRemovableMedium? medium = null)
    {
        Invariant.Assert(BitOperations.IsPow2(device.BlockSizeBytes), "block size is a power of two");
        Device = device;
        Identity = identity;
        ReadOnly = readOnly;
        Removable = removable;
        Medium = medium ?? new RemovableMedium();
        BlockSizeShift = BitOperations.Log2((uint)device.BlockSizeBytes);
        ModePages = new ModePageState();
        Reservations = reservations ?? new PersistentReservations(reservationStore ?? new MemoryPersistentReservationStore());
    }

    private LogicalUnit()
    {
        Device = new MemoryBlockDevice(0);
        Identity = new LogicalUnitIdentity(Guid.Empty);
        BlockSizeShift = 9;
        ModePages = new ModePageState();
        Reservations = new PersistentReservations(new MemoryPersistentReservationStore());
        Medium = new RemovableMedium();
        IsPresent = false;
    }

    /// <summary>
    /// The stand-in that serves INQUIRY, REPORT LUNS and REQUEST SENSE for a LUN with no logical
    /// unit (SPC-4 r37 §4.6.4.2: peripheral qualifier 011b, LOGICAL UNIT NOT SUPPORTED).
    /// </summary>
    public static LogicalUnit CreateAbsent() => new();

    /// <summary>False only for the absent stand-in.</summary>
    public bool IsPresent { get; } = true;

    /// <summary>The backing store.</summary>
    public IBlockDevice Device { get; }

    /// <summary>Identity derived from the volume.</summary>
    public LogicalUnitIdentity Identity { get; }

    /// <summary>Write-protected: medium-modifying commands end in DATA PROTECT, WRITE PROTECTED.</summary>
    public bool ReadOnly { get; }

    /// <summary>Removable medium (INQUIRY RMB = 1, SPC-4 r37 §6.6.2); its state is <see cref="Medium"/>.</summary>
    public bool Removable { get; }

    /// <summary>
    /// Loaded/ejected state and per-nexus removal prevention. Kept for every unit so the
    /// dispatcher never branches on null; it only changes when <see cref="Removable"/> is set.
    /// </summary>
    public IRemovableMedium Medium { get; }

    /// <summary>The LUN this unit answers on; set by <see cref="ScsiTargetDevice.AddLogicalUnit"/>.</summary>
    public ushort Lun { get; internal set; }

    /// <summary>The target device the unit belongs to; set by <see cref="ScsiTargetDevice.AddLogicalUnit"/>.</summary>
    public ScsiTargetDevice? Target { get; internal set; }

    /// <summary>log2 of the logical block size.</summary>
    public int BlockSizeShift { get; }

    /// <summary>Logical block size in bytes.</summary>
    public int BlockSizeBytes => 1 << BlockSizeShift;

    /// <summary>Number of logical blocks (capacity).</summary>
    public ulong BlockCount => (ulong)Device.SizeBytes >> BlockSizeShift;

    /// <summary>Pending unit attentions per nexus.</summary>
    public UnitAttentionTable UnitAttentions { get; } = new();

    /// <summary>Mode page values (current, saved).</summary>
    public ModePageState ModePages { get; }

    /// <summary>Held EXTENDED COPY statuses for RECEIVE COPY RESULTS.</summary>
    public CopyStatusTable CopyStatuses { get; } = new();

    /// <summary>SPC-4 persistent reservations and SPC-2 reservations.</summary>
    public IPersistentReservations Reservations { get; }

    /// <summary>
    /// Changes the capacity and tells every I_T nexus CAPACITY DATA HAS CHANGED (SBC-3 r36 §4.7.3.6;
    /// DESIGN.md §6: resize reaches the nexuses on every gateway).
    /// </summary>
    public async ValueTask<BlockResult> ResizeAsync(long sizeBytes, CancellationToken cancellationToken)
    {
        BlockResult result = await Device.ResizeAsync(sizeBytes, cancellationToken).ConfigureAwait(false);
        if (result == BlockResult.Ok) UnitAttentions.EstablishForAll(Sense.Sense.CapacityDataChanged);
        return result;
    }

    /// <summary>Whether [lba, lba + blocks) lies inside the capacity (SBC-3 r36 §4.5: LBA OUT OF RANGE otherwise).</summary>
    public bool InRange(ulong lba, ulong blocks)
    {
        ulong count = BlockCount;
        return lba <= count && blocks <= count - lba;
    }

    /// <summary>Whether writes must be made durable before completion (write cache disabled, SBC-3 r36 §6.4.5 WCE).</summary>
    public bool WriteThrough => !ModePages.WriteCacheEnabled;
}
