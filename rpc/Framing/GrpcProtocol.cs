using System.Buffers;
using System.Globalization;
using System.Text;
using Grpc.Core;

namespace Sds.Rpc.Framing;

/// <summary>Header names and encodings of PROTOCOL-HTTP2, shared by client and server.</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string TraceParentHeader = "traceparent";
    public const string TraceStateHeader = "tracestate";

    /// <summary>PROTOCOL-HTTP2: TimeoutValue is at most 8 ASCII digits.</summary>
    private const long TimeoutValueMax = 99_999_999;

    /// <summary>
    /// True for headers that are transport, not metadata: pseudo-headers, HTTP/2 connection headers and the grpc-
    /// reserved names. They are never shown to applications as <see cref="Metadata"/>.
    /// </summary>
    public static bool IsReservedHeader(string name)
    {
        if (name.Length == 0 || name[0] == ':')
        {
            return true;
        }

        return name.Equals("content-type", StringComparison.OrdinalIgnoreCase)
            || name.Equals("te", StringComparison.OrdinalIgnoreCase)
            || name.Equals("host", StringComparison.OrdinalIgnoreCase)
            || name.Equals("content-length", StringComparison.OrdinalIgnoreCase)
            || name.Equals(StatusHeader, StringComparison.OrdinalIgnoreCase)
            || name.Equals(MessageHeader, StringComparison.OrdinalIgnoreCase)
            || name.Equals(TimeoutHeader, StringComparison.OrdinalIgnoreCase)
            || name.Equals(EncodingHeader, StringComparison.OrdinalIgnoreCase)
            || name.Equals(AcceptEncodingHeader, StringComparison.OrdinalIgnoreCase)
            || name.Equals("grpc-status-details-bin", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>True if a content-type names gRPC (application/grpc, optionally +proto or another suffix).</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (contentType.Length == ContentType.Length)
        {
            return true;
        }

        var next = contentType[ContentType.Length];
        return next == '+' || next == ';';
    }

    /// <summary>Encodes a timeout for grpc-timeout, choosing the finest unit that fits in 8 digits.</summary>
    public static string EncodeTimeout(TimeSpan timeout)
    {
        var ticks = Math.Max(timeout.Ticks, 0);
        var milliseconds = (ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;
        if (milliseconds <= TimeoutValueMax)
        {
            return milliseconds.ToString(CultureInfo.InvariantCulture) + "m";
        }

        var seconds = (ticks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond;
        if (seconds <= TimeoutValueMax)
        {
            return seconds.ToString(CultureInfo.InvariantCulture) + "S";
        }

        var minutes = (ticks + TimeSpan.TicksPerMinute - 1) / TimeSpan.TicksPerMinute;
        if (minutes <= TimeoutValueMax)
        {
            return minutes.ToString(CultureInfo.InvariantCulture) + "M";
        }

        return Math.Min((ticks + TimeSpan.TicksPerHour - 1) / TimeSpan.TicksPerHour, TimeoutValueMax).ToString(CultureInfo.InvariantCulture) + "H";
    }

    /// <summary>Parses a grpc-timeout value; false if it is malformed.</summary>
    public static bool TryDecodeTimeout(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (value is null || value.Length < 2 || value.Length > 9)
        {
            return false;
        }

        if (!long.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }

        long ticksPerUnit;
        switch (value[^1])
        {
            case 'H': ticksPerUnit = TimeSpan.TicksPerHour; break;
            case 'M': ticksPerUnit = TimeSpan.TicksPerMinute; break;
            case 'S': ticksPerUnit = TimeSpan.TicksPerSecond; break;
            case 'm': ticksPerUnit = TimeSpan.TicksPerMillisecond; break;
            case 'u': ticksPerUnit = TimeSpan.TicksPerMicrosecond; break;
            case 'n':
                timeout = TimeSpan.FromTicks(amount / 100);
                return true;
            default: return false;
        }

        timeout = TimeSpan.FromTicks(amount * ticksPerUnit);
        return true;
    }

    /// <summary>
    /// Percent-encodes grpc-message (PROTOCOL-HTTP2: UTF-8, then every byte outside 0x20..0x7E and '%' itself as %XX).
    /// </summary>
    public static string EncodeMessage(string message)
    {
        var plain = true;
        foreach (var c in message)
        {
            if (c < 0x20 || c > 0x7E || c == '%')
            {
                plain = false;
                break;
            }
        }

        if (plain)
        {
            return message;
        }

        var bytes = Encoding.UTF8.GetBytes(message);
        var builder = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b < 0x20 || b > 0x7E || b == '%')
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append((char)b);
            }
        }

        return builder.ToString();
    }

    /// <summary>Decodes grpc-message; a malformed escape is kept as it is, as the spec asks.</summary>
    public static string DecodeMessage(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (!value.Contains('%'))
        {
            return value;
        }

        var bytes = new byte[value.Length];
        var count = 0;
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 2 < value.Length && byte.TryParse(value.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var decoded))
            {
                bytes[count++] = decoded;
                i += 2;
            }
            else
            {
                bytes[count++] = (byte)value[i];
            }
        }

        return Encoding.UTF8.GetString(bytes, 0, count);
    }

    /// <summary>Encodes a binary metadata value (base64, padded; receivers accept either form).</summary>
    public static string EncodeBinaryValue(byte[] value) => Convert.ToBase64String(value);

    /// <summary>Decodes a binary metadata value, padded or not.</summary>
    public static byte[] DecodeBinaryValue(string value)
    {
        var padding = (4 - (value.Length % 4)) % 4;
        if (padding == 3)
        {
            return [];
        }

        try
        {
            return Convert.FromBase64String(padding == 0 ? value : value + new string('=', padding));
        }
        catch (FormatException)
        {
            // A peer sent bad base64; metadata is advisory, so keep the call alive with an empty value.
            return [];
        }
    }

    /// <summary>Adds one received header to metadata, decoding binary keys.</summary>
    public static void AddReceivedHeader(Metadata metadata, string name, string value)
    {
        if (IsReservedHeader(name))
        {
            return;
        }

        var key = name.ToLowerInvariant();
        try
        {
            if (key.EndsWith(Metadata.BinaryHeaderSuffix, StringComparison.Ordinal))
            {
                metadata.Add(key, DecodeBinaryValue(value));
            }
            else
            {
                metadata.Add(key, value);
            }
        }
        catch (ArgumentException)
        {
            // A header that is legal HTTP but not legal gRPC metadata (e.g. non-ASCII value) is dropped, not fatal.
        }
    }

    /// <summary>Parses grpc-status; false if absent or not a number.</summary>
    public static bool TryParseStatus(string? value, out StatusCode code)
    {
        code = StatusCode.Unknown;
        if (value is null || !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        // PROTOCOL-HTTP2: an unknown code is treated as UNKNOWN.
        code = number is >= 0 and <= 16 ? (StatusCode)number : StatusCode.Unknown;
        return true;
    }

    /// <summary>grpc-status as a cached string, so writing a status allocates nothing.</summary>
    public static string StatusText(StatusCode code) => (int)code is >= 0 and <= 16 ? StatusTexts[(int)code] : ((int)code).ToString(CultureInfo.InvariantCulture);

    private static readonly string[] StatusTexts = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16"];

    /// <summary>gRPC status for an HTTP status other than 200 (grpc/doc/http-grpc-status-mapping.md).</summary>
    public static StatusCode StatusFromHttp(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    /// <summary>gRPC status for an HTTP/2 RST_STREAM error code (PROTOCOL-HTTP2 "Errors").</summary>
    public static StatusCode StatusFromHttp2Error(long errorCode) => errorCode switch
    {
        0x0 or 0x1 or 0x2 or 0x3 or 0x4 or 0x5 or 0x6 or 0x9 => StatusCode.Internal,
        0x7 => StatusCode.Unavailable,
        0x8 => StatusCode.Cancelled,
        0xb => StatusCode.ResourceExhausted,
        0xc => StatusCode.PermissionDenied,
        _ => StatusCode.Internal,
    };
}
