namespace Sds.Gateway.Iscsi.Login;

/// <summary>RFC 7143 §11.12.3 CSG/NSG stage codes.</summary>
internal enum LoginStage : byte
{
    /// <summary>SecurityNegotiation.</summary>
    SecurityNegotiation = 0,
    /// <summary>LoginOperationalNegotiation.</summary>
    OperationalNegotiation = 1,
    /// <summary>FullFeaturePhase.</summary>
    FullFeaturePhase = 3,
}
