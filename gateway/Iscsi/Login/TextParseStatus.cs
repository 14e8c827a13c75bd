namespace Sds.Gateway.Iscsi.Login;

/// <summary>Result of parsing a text data segment (RFC 7143 §6.1).</summary>
internal enum TextParseStatus : byte
{
    /// <summary>Every key=value pair is well formed.</summary>
    Ok,
    /// <summary>A pair without '=' (§6.1: key=value is mandatory).</summary>
    MissingEquals,
    /// <summary>A key name over 63 bytes or with bad characters.</summary>
    BadKeyName,
    /// <summary>A value over the length limit.</summary>
    ValueTooLong,
    /// <summary>The same key twice in one negotiation (§6.2 protocol error).</summary>
    DuplicateKey,
    /// <summary>More text than <see cref="IscsiLimits.TextNegotiationBytesMax"/>.</summary>
    TooLong,
}
