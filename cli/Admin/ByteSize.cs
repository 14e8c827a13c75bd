using System.Globalization;

namespace Sds.Cli.Admin;

/// <summary>Sizes on the command line: plain bytes, or a number with a binary (KiB, MiB, GiB, TiB; K, M, G, T) or decimal (KB, MB, GB, TB) unit.</summary>
internal static class ByteSize
{
    private static readonly (string Suffix, ulong Multiplier)[] Units =
    [
        ("KiB", 1UL << 10), ("MiB", 1UL << 20), ("GiB", 1UL << 30), ("TiB", 1UL << 40), ("PiB", 1UL << 50),
        ("KB", 1_000UL), ("MB", 1_000_000UL), ("GB", 1_000_000_000UL), ("TB", 1_000_000_000_000UL),
        ("K", 1UL << 10), ("M", 1UL << 20), ("G", 1UL << 30), ("T", 1UL << 40), ("B", 1UL),
    ];

    /// <summary>Parses <paramref name="text"/>; null with <paramref name="error"/> set when it is not a size.</summary>
    public static ulong? Parse(string text, out string? error)
    {
        error = null;
        string trimmed = text.Trim();
        ulong multiplier = 1;
        foreach ((string suffix, ulong value) in Units)
        {
            if (trimmed.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && trimmed.Length > suffix.Length)
            {
                multiplier = value;
                trimmed = trimmed[..^suffix.Length].Trim();
                break;
            }
        }

        if (!ulong.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out ulong number))
        {
            error = $"'{text}' is not a size; use bytes or a unit, e.g. 10GiB or 512MiB";
            return null;
        }

        if (number != 0 && multiplier > ulong.MaxValue / number)
        {
            error = $"'{text}' is too large";
            return null;
        }

        return number * multiplier;
    }

    /// <summary>Formats a byte count in the largest binary unit it reaches: exact (10GiB) or with two decimals (252.1TiB).</summary>
    public static string Format(ulong bytes)
    {
        string[] names = ["PiB", "TiB", "GiB", "MiB", "KiB"];
        int[] shifts = [50, 40, 30, 20, 10];
        for (int i = 0; i < names.Length; i++)
        {
            ulong unit = 1UL << shifts[i];
            if (bytes >= unit)
            {
                return bytes % unit == 0
                    ? (bytes / unit).ToString(CultureInfo.InvariantCulture) + names[i]
                    : (bytes / (double)unit).ToString("0.##", CultureInfo.InvariantCulture) + names[i];
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture) + "B";
    }
}
