using Sds.Gateway.Iscsi;

namespace Sds.Gateway.Tests.Iscsi;

/// <summary>Proves RFC 1982 serial comparison (SERIAL_BITS = 32) including wrap-around, as RFC 7143 §4.2.2.1 uses it.</summary>
public class SerialNumberTests
{
    [Theory]
    [InlineData(0u, 1u, true)]
    [InlineData(1u, 0u, false)]
    [InlineData(0xFFFF_FFFFu, 0u, true)]
    [InlineData(0u, 0xFFFF_FFFFu, false)]
    [InlineData(0xFFFF_FF00u, 0x0000_0100u, true)]
    [InlineData(5u, 5u, false)]
    [InlineData(0u, 0x7FFF_FFFFu, true)]
    [InlineData(0x7FFF_FFFFu, 0u, false)]
    public void LessThan(uint a, uint b, bool expected) => Assert.Equal(expected, SerialNumber.LessThan(a, b));

    [Fact]
    public void DistanceOfExactlyHalfTheSpaceIsUndefinedAndNeitherLessNorGreater()
    {
        // RFC 1982 §3.2: for i1 and i2 2^31 apart the comparison is undefined; we answer false both ways.
        Assert.False(SerialNumber.LessThan(0u, 0x8000_0000u));
        Assert.False(SerialNumber.GreaterThan(0u, 0x8000_0000u));
    }

    [Fact]
    public void WindowWrapsAroundZero()
    {
        Assert.True(SerialNumber.InWindow(0u, 0xFFFF_FFF0u, 0x0000_0010u));
        Assert.True(SerialNumber.InWindow(0xFFFF_FFF0u, 0xFFFF_FFF0u, 0x0000_0010u));
        Assert.True(SerialNumber.InWindow(0x10u, 0xFFFF_FFF0u, 0x0000_0010u));
        Assert.False(SerialNumber.InWindow(0x11u, 0xFFFF_FFF0u, 0x0000_0010u));
        Assert.False(SerialNumber.InWindow(0xFFFF_FFEFu, 0xFFFF_FFF0u, 0x0000_0010u));
    }

    [Fact]
    public void AdditionWraps() => Assert.Equal(4u, SerialNumber.Add(0xFFFF_FFFEu, 6));
}
