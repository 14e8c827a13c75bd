using System.Text;
using Sds.Storage.Chunks;

namespace Sds.Storage.Tests.Chunks;

/// <summary>
/// Proves the CRC32C is the Castagnoli CRC the rest of the world computes: known vectors from
/// RFC 3720 Appendix B.4 (the iSCSI digest examples) and the classic "123456789" check value, and
/// the hardware path equal to the table path on seeded random data of every small length.
/// </summary>
public sealed class Crc32CTests
{
    [Fact]
    public void CheckValue_Matches()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void Rfc3720Vectors_Match()
    {
        byte[] zeros = new byte[32];
        byte[] ones = Enumerable.Repeat((byte)0xFF, 32).ToArray();
        byte[] ascending = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        byte[] descending = Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray();
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(zeros));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(ones));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(ascending));
        Assert.Equal(0x113FDB5Cu, Crc32C.Compute(descending));
    }

    [Fact]
    public void HardwareAndSoftware_Agree()
    {
        var random = new Random(674386);
        byte[] data = new byte[4200];
        random.NextBytes(data);
        for (int length = 0; length < data.Length; length += length < 64 ? 1 : 97)
        {
            ReadOnlySpan<byte> slice = data.AsSpan(0, length);
            Assert.Equal(~Crc32C.AppendSoftware(0xFFFFFFFF, slice), Crc32C.Compute(slice));
        }
    }

    [Fact]
    public void Append_IsIncremental()
    {
        byte[] data = Encoding.ASCII.GetBytes("123456789");
        uint state = Crc32C.Append(0xFFFFFFFF, data.AsSpan(0, 4));
        state = Crc32C.Append(state, data.AsSpan(4));
        Assert.Equal(0xE3069283u, ~state);
    }
}
