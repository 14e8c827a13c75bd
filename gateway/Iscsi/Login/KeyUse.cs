namespace Sds.Gateway.Iscsi.Login;

/// <summary>Where a key may appear (the "Use:" line of each RFC 7143 §13 key).</summary>
[Flags]
internal enum KeyUse : byte
{
    /// <summary>No restriction.</summary>
    None = 0,
    /// <summary>LO: leading connection only, login only (session-wide).</summary>
    LeadingOnly = 1,
    /// <summary>IO: initialize only (login phase), any connection.</summary>
    InitializeOnly = 2,
    /// <summary>Irrelevant when SessionType=Discovery.</summary>
    NormalSessionOnly = 4,
    /// <summary>May appear in full feature phase Text requests.</summary>
    FullFeature = 8,
}
