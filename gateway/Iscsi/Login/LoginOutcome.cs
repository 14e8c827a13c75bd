namespace Sds.Gateway.Iscsi.Login;

/// <summary>What one login request led to.</summary>
internal enum LoginOutcome : byte
{
    /// <summary>Answer and wait for the next login request.</summary>
    Continue,
    /// <summary>The answer moves the connection to full feature phase (the caller creates or reinstates the session first).</summary>
    Complete,
    /// <summary>The login failed with <see cref="LoginNegotiation.Status"/>; answer and close (RFC 7143 §11.13.5).</summary>
    Failed,
}
