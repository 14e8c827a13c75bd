namespace Sds.Gateway.Iscsi;

/// <summary>
/// RFC 1982 serial number arithmetic with SERIAL_BITS = 32, as RFC 7143 §4.2.2.1 requires for
/// CmdSN, StatSN, DataSN and R2TSN. Raw <c>&lt;</c> on a sequence number is a bug: use these.
/// </summary>
internal static class SerialNumber
{
    /// <summary>RFC 1982 §3.2: s1 &lt; s2 when their distance is below 2^31 going forward from s1.</summary>
    public static bool LessThan(uint s1, uint s2) =>
        s1 != s2 && ((s1 < s2 && s2 - s1 < 0x8000_0000u) || (s1 > s2 && s1 - s2 > 0x8000_0000u));

    /// <summary>RFC 1982 §3.2: s1 &gt; s2.</summary>
    public static bool GreaterThan(uint s1, uint s2) => LessThan(s2, s1);

    /// <summary>s1 &lt;= s2 under RFC 1982 (equal, or less than).</summary>
    public static bool LessThanOrEqual(uint s1, uint s2) => s1 == s2 || LessThan(s1, s2);

    /// <summary>s1 &gt;= s2 under RFC 1982.</summary>
    public static bool GreaterThanOrEqual(uint s1, uint s2) => s1 == s2 || LessThan(s2, s1);

    /// <summary>Whether <paramref name="value"/> lies in the serial window [low, high] (inclusive).</summary>
    public static bool InWindow(uint value, uint low, uint high) =>
        GreaterThanOrEqual(value, low) && LessThanOrEqual(value, high);

    /// <summary>RFC 1982 §3.1 addition (wraps modulo 2^32); n must be below 2^31.</summary>
    public static uint Add(uint s, uint n)
    {
        Invariant.Assert(n < 0x8000_0000u, "RFC 1982 §3.1: serial addition is defined only for n < 2^31");
        return unchecked(s + n);
    }
}
