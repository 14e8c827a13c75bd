namespace Sds.Gateway.Iscsi.Login;

/// <summary>How a key is negotiated (RFC 7143 §6.2 and the "Result function" of each §13 key).</summary>
internal enum KeyKind : byte
{
    /// <summary>Declared by the initiator; no answer is due (§6.1 "Declarative").</summary>
    InitiatorDeclarative,
    /// <summary>Declared only by the target; an initiator that sends it is in error (e.g. TargetPortalGroupTag).</summary>
    TargetDeclarative,
    /// <summary>List of values; the responder picks the first it supports (§6.2.1).</summary>
    List,
    /// <summary>Boolean with result function AND (§6.2.2).</summary>
    BooleanAnd,
    /// <summary>Boolean with result function OR (§6.2.2).</summary>
    BooleanOr,
    /// <summary>Numerical with result function Minimum (§6.2.2).</summary>
    NumericMin,
    /// <summary>Numerical with result function Maximum (§6.2.2).</summary>
    NumericMax,
    /// <summary>A key RFC 7143 dropped from RFC 3720 (markers); answered Irrelevant.</summary>
    Obsolete,
    /// <summary>Authentication keys (AuthMethod, CHAP_*): handled by the security stage.</summary>
    Security,
    /// <summary>SendTargets: a text command, not a negotiation.</summary>
    Command,
}
