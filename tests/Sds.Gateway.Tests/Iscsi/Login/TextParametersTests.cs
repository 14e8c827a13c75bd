using System.Text;
using Sds.Gateway.Iscsi.Login;

namespace Sds.Gateway.Tests.Iscsi.Login;

/// <summary>Proves the RFC 7143 §6.1 key=value text format is parsed strictly and bounded.</summary>
public class TextParametersTests
{
    private static TextParseStatus Parse(string text, out TextParameters parameters)
    {
        parameters = new TextParameters();
        return TextParameters.Parse(Encoding.UTF8.GetBytes(text), parameters);
    }

    [Fact]
    public void ParsesPairsInOrderAndRoundTrips()
    {
        Assert.Equal(TextParseStatus.Ok, Parse("InitiatorName=iqn.x\0SessionType=Normal\0HeaderDigest=CRC32C,None\0", out TextParameters parameters));
        Assert.Equal(3, parameters.Count);
        Assert.True(parameters.TryGet("HeaderDigest", out string digest));
        Assert.Equal("CRC32C,None", digest);
        Assert.Equal("InitiatorName=iqn.x\0SessionType=Normal\0HeaderDigest=CRC32C,None\0", Encoding.UTF8.GetString(parameters.Encode()));
    }

    [Fact]
    public void EmptyValueIsAllowed()
    {
        Assert.Equal(TextParseStatus.Ok, Parse("SendTargets=\0", out TextParameters parameters));
        Assert.True(parameters.TryGet("SendTargets", out string value));
        Assert.Equal("", value);
    }

    [Theory]
    [InlineData("NoEqualsHere\0", (int)TextParseStatus.MissingEquals)]
    [InlineData("=value\0", (int)TextParseStatus.BadKeyName)]
    [InlineData("Bad Key=1\0", (int)TextParseStatus.BadKeyName)]
    [InlineData("A=1\0A=2\0", (int)TextParseStatus.DuplicateKey)]
    public void MalformedTextIsAValue(string text, int expected) => Assert.Equal((TextParseStatus)expected, Parse(text, out _));

    [Fact]
    public void KeyNamesOver63BytesAreRefused() => Assert.Equal(TextParseStatus.BadKeyName, Parse(new string('K', 64) + "=1\0", out _));

    [Fact]
    public void TextOver64KiBIsRefused() => Assert.Equal(TextParseStatus.TooLong, Parse("X-A=" + new string('v', 70_000) + "\0", out _));
}
