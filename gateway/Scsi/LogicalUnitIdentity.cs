using System.Buffers.Binary;

namespace Sds.Gateway.Scsi;

/// <summary>
/// What a logical unit says about itself, identical on every gateway (DESIGN.md §6): all of it
/// is derived deterministically from the volume <see cref="Guid"/>, so multipath initiators see
/// one device behind every path.
/// </summary>
internal sealed class LogicalUnitIdentity
{
    /// <summary>
    /// IEEE company identifier placed in the NAA-6 designator (SPC-4 r37 §7.8.6.6.5). This is a
    /// placeholder until the project registers an OUI; it only has to be stable.
    /// </summary>
    public const uint IeeeCompanyId = 0x5D_5D_5D;

    /// <summary>Creates the identity of the volume <paramref name="volumeId"/>.</summary>
    public LogicalUnitIdentity(Guid volumeId, string vendor = "SDS", string product = "SdsTarget", string revision = "0001")
    {
        Block.Invariant.Assert(vendor.Length <= 8 && product.Length <= 16 && revision.Length <= 4, "INQUIRY identification fields fit");
        VolumeId = volumeId;
        Vendor = vendor;
        Product = product;
        Revision = revision;
        SerialNumber = volumeId.ToString("N");
        // NAA 6 (IEEE Registered Extended): 4-bit NAA, 24-bit company id, then 100 bits of the volume id.
        UInt128 volumeBits = BinaryPrimitives.ReadUInt128BigEndian(volumeId.ToByteArray(bigEndian: true));
        UInt128 naa = ((UInt128)6 << 124) | ((UInt128)IeeeCompanyId << 100) | (volumeBits & (((UInt128)1 << 100) - 1));
        var designator = new byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(designator, naa);
        NaaDesignator = designator;
    }

    /// <summary>The volume this logical unit exposes.</summary>
    public Guid VolumeId { get; }

    /// <summary>T10 VENDOR IDENTIFICATION (8 ASCII bytes, space padded).</summary>
    public string Vendor { get; }

    /// <summary>PRODUCT IDENTIFICATION (16 ASCII bytes, space padded).</summary>
    public string Product { get; }

    /// <summary>PRODUCT REVISION LEVEL (4 ASCII bytes, space padded).</summary>
    public string Revision { get; }

    /// <summary>Unit serial number (VPD page 80h): 32 lowercase hex digits of the volume id.</summary>
    public string SerialNumber { get; }

    /// <summary>The 16-byte NAA-6 designator (VPD page 83h), also used for EXTENDED COPY target lookup.</summary>
    public ReadOnlyMemory<byte> NaaDesignator { get; }
}
