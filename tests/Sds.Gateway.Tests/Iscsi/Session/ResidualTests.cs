using Sds.Gateway.Iscsi.Session;

namespace Sds.Gateway.Tests.Iscsi.Session;

/// <summary>Proves residual accounting (RFC 7143 §11.4.5) as the ScsiTask contract defines it.</summary>
public class ResidualTests
{
    [Theory]
    // READ(10) of 1 block (512) with EDTL 1024: underflow 512.
    [InlineData(1024u, 512u, 512u, Residual.UnderflowFlag, 512u)]
    // READ(10) of 2 blocks with EDTL 512: overflow 512 (the CDB asks for more than EDTL).
    [InlineData(512u, 1024u, 512u, Residual.OverflowFlag, 512u)]
    // Exact transfer.
    [InlineData(4096u, 4096u, 4096u, (byte)0, 0u)]
    // INQUIRY (allocation length, no CDB transfer size) returning 36 of 255: underflow 219.
    [InlineData(255u, 0u, 36u, Residual.UnderflowFlag, 219u)]
    // TEST UNIT READY with a nonzero EDTL: nothing moved.
    [InlineData(512u, 0u, 0u, Residual.UnderflowFlag, 512u)]
    // WRITE(10) of 1 block with EDTL 0 (libiscsi Write10Residuals): overflow 512.
    [InlineData(0u, 512u, 0u, Residual.OverflowFlag, 512u)]
    public void Compute(uint expected, uint cdbLength, uint moved, byte flags, uint count)
    {
        Residual.Compute(expected, cdbLength, moved, out byte actualFlags, out uint actualCount);
        Assert.Equal(flags, actualFlags);
        Assert.Equal(count, actualCount);
    }
}
