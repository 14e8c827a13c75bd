namespace Sds.Gateway.Iscsi.Login;

/// <summary>A CHAP name and secret (RFC 7143 §12.1.3, RFC 1994).</summary>
/// <param name="UserName">CHAP_N value.</param>
/// <param name="Secret">The shared secret (UTF-8 bytes are hashed).</param>
internal sealed record ChapCredentials(string UserName, string Secret)
{
    /// <summary>Never print the secret.</summary>
    public override string ToString() => $"ChapCredentials({UserName})";
}
