using Sds.Gateway.Iscsi.Pdu;

namespace Sds.Gateway.Tests.Iscsi.Pdu;

/// <summary>
/// Proves the CRC32C used for iSCSI digests matches the RFC 3720 Appendix B.4 test vectors
/// (kept by RFC 7143), on both the hardware path and the table path.
/// </summary>
public class Crc32CTests
{
    public static TheoryData<string, uint> Vectors => new()
    {
        { "32 bytes of zeroes", 0x8A9136AAu },
        { "32 bytes of ones", 0x62A8AB43u },
        { "32 incrementing bytes", 0x46DD794Eu },
        { "32 decrementing bytes", 0x113FDB5Cu },
    };

    private static byte[] Input(string name)
    {
        var data = new byte[32];
        for (int i = 0; i < 32; i++)
        {
            data[i] = name switch
            {
                "32 bytes of zeroes" => 0,
                "32 bytes of ones" => 0xFF,
                "32 incrementing bytes" => (byte)i,
                _ => (byte)(31 - i),
            };
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Rfc3720AppendixB4Vectors(string name, uint expected)
    {
        byte[] data = Input(name);
        Assert.Equal(expected, Crc32C.Compute(data));
        Assert.Equal(expected, Crc32C.ComputeWithTable(data));
    }

    [Fact]
    public void SplitInputGivesTheSameCrc()
    {
        var random = new Random(674386);
        byte[] data = new byte[10_000];
        random.NextBytes(data);
        uint whole = Crc32C.Compute(data);
        uint running = Crc32C.Seed;
        running = Crc32C.Append(running, data.AsSpan(0, 3));
        running = Crc32C.Append(running, data.AsSpan(3, 4000));
        running = Crc32C.Append(running, data.AsSpan(4003));
        Assert.Equal(whole, Crc32C.Finish(running));
        Assert.Equal(whole, Crc32C.ComputeWithTable(data));
    }
}
