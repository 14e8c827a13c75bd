namespace Sds.Gateway.Iscsi.Login;

/// <summary>Outcome of one CHAP exchange step.</summary>
internal enum ChapStep : byte
{
    /// <summary>More exchanges are needed (we sent CHAP_A/CHAP_I/CHAP_C).</summary>
    Continue,
    /// <summary>The initiator is authenticated (and, when asked, so is the target).</summary>
    Success,
    /// <summary>Authentication failed (wrong name or response, reflected challenge, unsupported algorithm).</summary>
    Failure,
}
