namespace Sds.Gateway.Iscsi.Login;

/// <summary>RFC 7143 §13.21 SessionType.</summary>
internal enum SessionType : byte
{
    /// <summary>A normal session (default).</summary>
    Normal,
    /// <summary>A discovery session: only SendTargets text requests and logout.</summary>
    Discovery,
}
