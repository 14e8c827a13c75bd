namespace Sds.Gateway.Scsi.Spc;

/// <summary>
/// What the EXTENDED COPY copy manager accepts (SPC-4 r37 §6.4, §6.19.4 OPERATING PARAMETERS,
/// §7.8.17 Third-party Copy VPD page). One place, so the limits reported and enforced agree.
/// </summary>
internal static class CopyManagerLimits
{
    /// <summary>MAXIMUM CSCD DESCRIPTOR COUNT.</summary>
    public const int CscdDescriptorsMax = 4;

    /// <summary>MAXIMUM SEGMENT DESCRIPTOR COUNT.</summary>
    public const int SegmentDescriptorsMax = 4;

    /// <summary>MAXIMUM DESCRIPTOR LIST LENGTH, bytes (CSCD plus segment descriptor lists).</summary>
    public const int DescriptorListBytesMax = 1024;

    /// <summary>MAXIMUM SEGMENT LENGTH, bytes.</summary>
    public const int SegmentBytesMax = 32 * 1024 * 1024;

    /// <summary>Copy buffer size: a segment moves through a pooled buffer this big at a time.</summary>
    public const int ChunkBytes = 1024 * 1024;

    /// <summary>Held copy statuses kept per logical unit (oldest dropped beyond this).</summary>
    public const int HeldStatusesMax = 64;

    /// <summary>Segment descriptor type: block device to block device (SPC-4 r37 §6.4.5.5).</summary>
    public const byte BlockToBlockSegment = 0x02;

    /// <summary>CSCD descriptor type: identification descriptor (SPC-4 r37 §6.4.4.2).</summary>
    public const byte IdentificationCscd = 0xE4;
}
