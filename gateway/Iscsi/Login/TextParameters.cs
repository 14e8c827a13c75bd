using System.Text;

namespace Sds.Gateway.Iscsi.Login;

/// <summary>
/// An ordered list of key=value pairs as carried in Login and Text PDUs (RFC 7143 §6.1):
/// UTF-8, each pair terminated by NUL. Login and text are not on the hot path, so strings are fine here.
/// </summary>
internal sealed class TextParameters
{
    private readonly List<KeyValuePair<string, string>> _pairs = new();

    /// <summary>The pairs in wire order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Pairs => _pairs;

    /// <summary>Number of pairs.</summary>
    public int Count => _pairs.Count;

    /// <summary>Looks a key up (exact, case-sensitive per §6.1).</summary>
    public bool TryGet(string key, out string value)
    {
        foreach (KeyValuePair<string, string> pair in _pairs)
        {
            if (pair.Key == key) { value = pair.Value; return true; }
        }
        value = "";
        return false;
    }

    /// <summary>Whether <paramref name="key"/> is present.</summary>
    public bool Contains(string key) => TryGet(key, out _);

    /// <summary>Appends a pair (no duplicate check: the caller builds responses).</summary>
    public void Add(string key, string value) => _pairs.Add(new(key, value));

    /// <summary>Parses <paramref name="text"/> into <paramref name="parameters"/>, appending.</summary>
    public static TextParseStatus Parse(ReadOnlySpan<byte> text, TextParameters parameters)
    {
        if (text.Length > IscsiLimits.TextNegotiationBytesMax) return TextParseStatus.TooLong;
        while (text.Length > 0)
        {
            int end = text.IndexOf((byte)0);
            ReadOnlySpan<byte> pair = end < 0 ? text : text[..end];
            text = end < 0 ? default : text[(end + 1)..];
            if (pair.Length == 0) continue; // RFC 7143 §6.1 tolerates padding NULs.
            int equals = pair.IndexOf((byte)'=');
            if (equals < 0) return TextParseStatus.MissingEquals;
            ReadOnlySpan<byte> key = pair[..equals];
            ReadOnlySpan<byte> value = pair[(equals + 1)..];
            if (key.Length == 0 || key.Length > IscsiLimits.KeyNameLengthMax) return TextParseStatus.BadKeyName;
            foreach (byte b in key)
            {
                // §6.1: key names are letters, digits, '.', '-', '+', '@', '_'.
                bool ok = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '.' || b == '-' || b == '+' || b == '@' || b == '_';
                if (!ok) return TextParseStatus.BadKeyName;
            }
            if (value.Length > IscsiLimits.KeyValueLengthMax) return TextParseStatus.ValueTooLong;
            string keyText = Encoding.UTF8.GetString(key);
            if (parameters.Contains(keyText)) return TextParseStatus.DuplicateKey;
            parameters.Add(keyText, Encoding.UTF8.GetString(value));
        }
        return TextParseStatus.Ok;
    }

    /// <summary>Encodes the pairs as key=value NUL sequences (§6.1).</summary>
    public byte[] Encode()
    {
        var builder = new StringBuilder();
        foreach (KeyValuePair<string, string> pair in _pairs) builder.Append(pair.Key).Append('=').Append(pair.Value).Append('\0');
        return Encoding.UTF8.GetBytes(builder.ToString());
    }
}
