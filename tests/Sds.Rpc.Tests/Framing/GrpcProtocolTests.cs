using System.Buffers;
using Grpc.Core;
using Sds.Rpc.Framing;

namespace Sds.Rpc.Tests.Framing;

/// <summary>
/// Pins the wire encodings of PROTOCOL-HTTP2 that peers depend on: grpc-timeout units, grpc-message percent
/// encoding, binary metadata base64, and the 5-byte frame prefix, using literal wire strings and bytes.
/// </summary>
public sealed class GrpcProtocolTests
{
    [Theory]
    [InlineData(1500, "1500m")]
    [InlineData(0, "0m")]
    public void Timeout_is_encoded_in_milliseconds_when_it_fits(int milliseconds, string expected)
        => Assert.Equal(expected, GrpcProtocol.EncodeTimeout(TimeSpan.FromMilliseconds(milliseconds)));

    [Fact]
    public void Long_timeouts_switch_to_coarser_units_within_eight_digits()
    {
        Assert.Equal("100000S", GrpcProtocol.EncodeTimeout(TimeSpan.FromSeconds(100_000)));
        Assert.True(GrpcProtocol.EncodeTimeout(TimeSpan.FromDays(10_000)).Length <= 9);
    }

    [Theory]
    [InlineData("1H", 3_600_000)]
    [InlineData("2M", 120_000)]
    [InlineData("3S", 3_000)]
    [InlineData("250m", 250)]
    [InlineData("5000u", 5)]
    [InlineData("7000000n", 7)]
    public void Timeout_units_decode(string wire, int expectedMilliseconds)
    {
        Assert.True(GrpcProtocol.TryDecodeTimeout(wire, out var timeout));
        Assert.Equal(expectedMilliseconds, (int)timeout.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("12x")]
    [InlineData("123456789S")]
    [InlineData("-1S")]
    public void Malformed_timeouts_are_rejected(string wire) => Assert.False(GrpcProtocol.TryDecodeTimeout(wire, out _));

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("50%", "50%25")]
    [InlineData("line\nbreak", "line%0Abreak")]
    [InlineData("é", "%C3%A9")]
    public void Message_is_percent_encoded(string message, string wire)
    {
        Assert.Equal(wire, GrpcProtocol.EncodeMessage(message));
        Assert.Equal(message, GrpcProtocol.DecodeMessage(wire));
    }

    [Fact]
    public void Malformed_percent_escapes_are_kept_verbatim() => Assert.Equal("bad %zz end %4", GrpcProtocol.DecodeMessage("bad %zz end %4"));

    [Fact]
    public void Binary_values_decode_with_or_without_padding()
    {
        Assert.Equal(new byte[] { 1, 2 }, GrpcProtocol.DecodeBinaryValue("AQI="));
        Assert.Equal(new byte[] { 1, 2 }, GrpcProtocol.DecodeBinaryValue("AQI"));
        Assert.Empty(GrpcProtocol.DecodeBinaryValue("!!!!"));
    }

    [Fact]
    public void Frame_prefix_is_flag_then_big_endian_length()
    {
        var header = new byte[5];
        GrpcFrame.WriteHeader(header, 0x01020304);
        Assert.Equal(new byte[] { 0, 1, 2, 3, 4 }, header);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0, 2, 9, 9 }, "Message")]
    [InlineData(new byte[] { 0, 0, 0, 0, 3, 9, 9 }, "NeedMoreData")]
    [InlineData(new byte[] { 0, 0, 0 }, "NeedMoreData")]
    [InlineData(new byte[] { 1, 0, 0, 0, 0 }, "Compressed")]
    [InlineData(new byte[] { 7, 0, 0, 0, 0 }, "Malformed")]
    [InlineData(new byte[] { 0, 0x7F, 0xFF, 0xFF, 0xFF }, "TooLarge")]
    public void Frames_parse_from_wire_bytes(byte[] wire, string expectedName)
    {
        var expected = Enum.Parse<FrameReadStatus>(expectedName);
        var status = GrpcFrame.TryRead(new ReadOnlySequence<byte>(wire), 1024, out var payload, out _);
        Assert.Equal(expected, status);
        if (status == FrameReadStatus.Message)
        {
            Assert.Equal(new byte[] { 9, 9 }, payload.ToArray());
        }
    }

    [Fact]
    public void Metadata_keys_are_validated_and_lowercased()
    {
        var metadata = new Metadata { { "X-Trace", "a" } };
        Assert.Equal("x-trace", metadata[0].Key);
        Assert.Throws<ArgumentException>(() => metadata.Add("bad key", "v"));
        Assert.Throws<ArgumentException>(() => metadata.Add("x-bin", "not bytes"));
        Assert.Throws<ArgumentException>(() => metadata.Add("x-text", new byte[] { 1 }));
        Assert.Throws<ArgumentException>(() => metadata.Add("x-text", "non-ascii é"));
    }
}
