namespace Sds.Gateway.Scsi.Sbc;

/// <summary>
/// Limits this device server enforces and advertises in the Block Limits VPD page (SBC-3 r36
/// §6.5.3). One place, so the page and the handlers cannot disagree.
/// </summary>
internal static class BlockLimits
{
    /// <summary>Largest READ/WRITE transfer, bytes (MAXIMUM TRANSFER LENGTH × block size).</summary>
    public const int MaximumTransferBytes = 8 * 1024 * 1024;

    /// <summary>Transfer size the device prefers, bytes (OPTIMAL TRANSFER LENGTH × block size).</summary>
    public const int OptimalTransferBytes = 1024 * 1024;

    /// <summary>MAXIMUM COMPARE AND WRITE LENGTH, blocks (more than one, SBC-3 r36 §5.2).</summary>
    public const int MaximumCompareAndWriteBlocks = 64;

    /// <summary>MAXIMUM UNMAP LBA COUNT, blocks per UNMAP command.</summary>
    public const uint MaximumUnmapBlocks = 1024 * 1024;

    /// <summary>MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT.</summary>
    public const int MaximumUnmapDescriptors = 1024;

    /// <summary>MAXIMUM WRITE SAME LENGTH, blocks (one WRITE SAME, written or deallocated).</summary>
    public const ulong MaximumWriteSameBlocks = 0xFFFF;

    /// <summary>Maximum transfer in blocks for <paramref name="unit"/>.</summary>
    public static uint MaximumTransferBlocks(LogicalUnit unit) => (uint)(MaximumTransferBytes >> unit.BlockSizeShift);
}
