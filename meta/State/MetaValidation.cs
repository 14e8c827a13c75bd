using System.Text;
using System.Text.RegularExpressions;
using Sds.Proto.V1;

namespace Sds.Meta.State;

/// <summary>
/// Argument checks shared by the API edge (fast refusal on any member) and apply (the authority). Every
/// method returns null when the value is acceptable, else one sentence a human can act on (DESIGN.md §9).
/// </summary>
internal static partial class MetaValidation
{
    /// <summary>Fewest bytes in a CHAP secret: RFC 7143 §12.1.3 says not to answer unless it is at least 96 bits.</summary>
    public const int ChapSecretMinBytes = 12;

    /// <summary>
    /// Most bytes in a CHAP secret: RFC 7143 §11.1.4 allows longer, but common initiators (Microsoft, ESXi,
    /// open-iscsi defaults) accept at most 16, so a longer secret would lock those initiators out.
    /// </summary>
    public const int ChapSecretMaxBytes = 16;

    /// <summary>Longest iSCSI name: RFC 7143 §4.2.7.1 (223 bytes, UTF-8).</summary>
    public const int IscsiNameMaxBytes = 223;

    /// <summary>Longest TargetAlias value (RFC 7143 §13.6, a text value of at most 255 bytes).</summary>
    public const int AliasMaxBytes = 255;

    /// <summary>Longest CHAP_N (a text value, RFC 7143 §12.1.3).</summary>
    public const int ChapUserMaxBytes = 255;

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex VolumeNamePattern();

    // RFC 7143 §4.2.7.2: "iqn." yyyy-mm "." reversed domain, optionally ":" and a unique string; after
    // stringprep (RFC 3722) only lowercase letters, digits, '-', '.' and ':' remain.
    [GeneratedRegex("^iqn\\.[0-9]{4}-(0[1-9]|1[0-2])\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:_-]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex IqnPattern();

    // RFC 7143 §4.2.7.3 / §4.2.7.4: "eui." + 16 hex digits, "naa." + 16 or 32 hex digits.
    [GeneratedRegex("^(eui\\.[0-9a-f]{16}|naa\\.([0-9a-f]{16}|[0-9a-f]{32}))$", RegexOptions.CultureInvariant)]
    private static partial Regex EuiNaaPattern();

    /// <summary>Checks a volume name.</summary>
    public static string? VolumeName(string name)
    {
        if (name.Length == 0)
        {
            return "volume name is empty; use 1 to 63 characters from a-z, 0-9, '.', '_' and '-', starting with a letter or digit";
        }

        return VolumeNamePattern().IsMatch(name)
            ? null
            : $"invalid volume name '{Printable(name)}': use 1 to 63 characters from a-z, 0-9, '.', '_' and '-', starting with a letter or digit";
    }

    /// <summary>Checks a logical block size (0 means the default, 512).</summary>
    public static string? BlockSize(uint logicalBlockSizeBytes) =>
        logicalBlockSizeBytes is 0 or 512 or 4096 ? null : $"logical block size {logicalBlockSizeBytes} is not supported; use 512 or 4096";

    /// <summary>Checks a volume size against its block size and the cluster limit.</summary>
    public static string? VolumeSize(ulong sizeBytes, uint logicalBlockSizeBytes)
    {
        if (sizeBytes == 0)
        {
            return "volume size is zero; give a size such as 10GiB";
        }

        if (sizeBytes % logicalBlockSizeBytes != 0)
        {
            return $"volume size {sizeBytes} bytes is not a multiple of the {logicalBlockSizeBytes}-byte logical block size";
        }

        return sizeBytes > MetaLimits.VolumeSizeMaxBytes
            ? $"volume size {sizeBytes} bytes exceeds the limit of {MetaLimits.VolumeSizeMaxBytes} bytes (64 TiB)"
            : null;
    }

    /// <summary>Checks a replica count (0 means the cluster default).</summary>
    public static string? Replicas(uint replicas) =>
        replicas <= MetaLimits.ReplicasMax ? null : $"replicas {replicas} is out of range; use 1 to {MetaLimits.ReplicasMax}";

    /// <summary>Checks an iSCSI name (target or initiator); <paramref name="what"/> names it in the message.</summary>
    public static string? IscsiName(string name, string what)
    {
        if (name.Length == 0)
        {
            return $"{what} is empty; give an iSCSI name such as iqn.2026-11.com.example:storage";
        }

        if (Encoding.UTF8.GetByteCount(name) > IscsiNameMaxBytes)
        {
            return $"{what} is longer than {IscsiNameMaxBytes} bytes (RFC 7143 §4.2.7.1)";
        }

        string lower = name.ToLowerInvariant();
        if (lower.StartsWith("iqn.", StringComparison.Ordinal) ? IqnPattern().IsMatch(lower) : EuiNaaPattern().IsMatch(lower))
        {
            return null;
        }

        return $"invalid {what} '{Printable(name)}': expected iqn.YYYY-MM.reversed.domain[:name], eui.<16 hex> or naa.<16|32 hex> (RFC 7143 §4.2.7)";
    }

    /// <summary>Checks a target alias (may be empty).</summary>
    public static string? Alias(string alias)
    {
        if (Encoding.UTF8.GetByteCount(alias) > AliasMaxBytes)
        {
            return $"alias is longer than {AliasMaxBytes} bytes";
        }

        foreach (char c in alias)
        {
            if (char.IsControl(c))
            {
                return "alias contains a control character";
            }
        }

        return null;
    }

    /// <summary>
    /// Checks CHAP settings. Rule: each secret is 12 to 16 bytes of printable ASCII (RFC 7143 §12.1.3 minimum,
    /// common initiators' maximum); the user is 1 to 255 printable ASCII characters; mutual CHAP needs one-way
    /// CHAP and a different secret (a shared secret lets an impostor target replay the initiator's answer).
    /// </summary>
    public static string? Chap(ChapConfig? chap)
    {
        if (chap is null)
        {
            return null;
        }

        if (chap.Initiator is null)
        {
            return chap.Target is null ? null : "mutual CHAP needs one-way CHAP too; set the initiator user and secret";
        }

        if (ChapSecret(chap.Initiator, "CHAP") is { } initiatorError)
        {
            return initiatorError;
        }

        if (chap.Target is null)
        {
            return null;
        }

        if (ChapSecret(chap.Target, "mutual CHAP") is { } targetError)
        {
            return targetError;
        }

        return chap.Target.Secret == chap.Initiator.Secret
            ? "the mutual CHAP secret must differ from the initiator's CHAP secret"
            : null;
    }

    private static string? ChapSecret(ChapSecret secret, string what)
    {
        if (secret.User.Length == 0 || secret.User.Length > ChapUserMaxBytes || !IsPrintableAscii(secret.User))
        {
            return $"{what} user must be 1 to {ChapUserMaxBytes} printable ASCII characters";
        }

        if (!IsPrintableAscii(secret.Secret))
        {
            return $"{what} secret must be printable ASCII";
        }

        int length = secret.Secret.Length;
        return length is < ChapSecretMinBytes or > ChapSecretMaxBytes
            ? $"{what} secret is {length} bytes; it must be {ChapSecretMinBytes} to {ChapSecretMaxBytes} bytes (RFC 7143 §12.1.3)"
            : null;
    }

    /// <summary>Checks a request id (idempotency key).</summary>
    public static string? RequestId(string requestId) =>
        requestId.Length <= MetaLimits.RequestIdMaxLength ? null : $"request id is longer than {MetaLimits.RequestIdMaxLength} characters";

    /// <summary>Normalizes an iSCSI name: RFC 3722 stringprep maps names to lowercase, so comparisons are exact after this.</summary>
    public static string NormalizeIscsiName(string name) => name.ToLowerInvariant();

    private static bool IsPrintableAscii(string value)
    {
        foreach (char c in value)
        {
            if (c is < (char)0x20 or > (char)0x7E)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Keeps operator-supplied text in one printable line of bounded length for messages.</summary>
    private static string Printable(string value)
    {
        var builder = new StringBuilder(Math.Min(value.Length, 80));
        foreach (char c in value)
        {
            if (builder.Length >= 80)
            {
                builder.Append('…');
                break;
            }

            builder.Append(char.IsControl(c) ? '?' : c);
        }

        return builder.ToString();
    }
}
