namespace Sds.Gateway.Iscsi.Login;

/// <summary>
/// One row of the key table: the RFC 7143 §13 definition plus this target's own value.
/// For numeric keys <see cref="TargetValue"/> is our limit (Min: the most we accept; Max: the least);
/// for booleans "Yes"/"No"; for lists the values we support, comma separated, in our preference order.
/// </summary>
internal sealed record KeyDefinition(string Name, KeyKind Kind, KeyUse Use, long Min, long Max, string TargetValue, KeyField Field);
