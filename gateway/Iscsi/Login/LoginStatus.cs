namespace Sds.Gateway.Iscsi.Login;

/// <summary>RFC 7143 §11.13.5 Login Response Status-Class and Status-Detail, as class &lt;&lt; 8 | detail.</summary>
internal enum LoginStatus : ushort
{
    /// <summary>Login is proceeding OK.</summary>
    Success = 0x0000,
    /// <summary>Miscellaneous initiator error (e.g., a protocol error during login).</summary>
    InitiatorError = 0x0200,
    /// <summary>The initiator could not be successfully authenticated.</summary>
    AuthenticationFailure = 0x0201,
    /// <summary>The initiator is not allowed access to the given target.</summary>
    AuthorizationFailure = 0x0202,
    /// <summary>The requested target name does not exist here.</summary>
    NotFound = 0x0203,
    /// <summary>The requested iSCSI version range is not supported.</summary>
    UnsupportedVersion = 0x0205,
    /// <summary>Too many connections on this session.</summary>
    TooManyConnections = 0x0206,
    /// <summary>Missing parameters (e.g., InitiatorName).</summary>
    MissingParameter = 0x0207,
    /// <summary>The target does not support session spanning to this connection.</summary>
    CannotIncludeInSession = 0x0208,
    /// <summary>The target does not support this type of session.</summary>
    SessionTypeNotSupported = 0x0209,
    /// <summary>An attempt to add a connection to a nonexistent session.</summary>
    SessionDoesNotExist = 0x020A,
    /// <summary>Invalid request type during login.</summary>
    InvalidDuringLogin = 0x020B,
    /// <summary>Target hardware or software error.</summary>
    TargetError = 0x0300,
    /// <summary>The service is not currently available.</summary>
    ServiceUnavailable = 0x0301,
    /// <summary>Out of resources.</summary>
    OutOfResources = 0x0302,
}
