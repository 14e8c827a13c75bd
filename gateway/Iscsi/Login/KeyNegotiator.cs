using System.Globalization;

namespace Sds.Gateway.Iscsi.Login;

/// <summary>
/// Answers the operational keys of one Login or Text request per RFC 7143 §6.2 and the §13
/// result functions. Security keys, names and SendTargets are left to the caller.
/// </summary>
internal static class KeyNegotiator
{
    /// <summary>§6.2: answer to a key the responder does not know.</summary>
    public const string NotUnderstood = "NotUnderstood";
    /// <summary>§6.2: answer to a key that does not apply (e.g. burst keys in a discovery session).</summary>
    public const string Irrelevant = "Irrelevant";
    /// <summary>§6.2: answer to a value out of range or not acceptable.</summary>
    public const string Reject = "Reject";

    /// <summary>
    /// Negotiates every operational key of a login request. <paramref name="seen"/> holds keys already
    /// negotiated in this login: offering one again is a protocol error (§6.2: "Neither the initiator
    /// nor the target should attempt to declare or negotiate a parameter more than once").
    /// </summary>
    public static LoginStatus NegotiateLogin(TextParameters request, TextParameters response, OperationalParameters parameters, SessionType sessionType, HashSet<string> seen)
    {
        foreach (KeyValuePair<string, string> pair in request.Pairs)
        {
            KeyDefinition? key = KeyTable.Find(pair.Key);
            if (key?.Kind == KeyKind.Security) continue;
            if (!seen.Add(pair.Key)) return LoginStatus.InitiatorError;
            if (key is null)
            {
                response.Add(pair.Key, NotUnderstood);
                continue;
            }
            if (key.Kind == KeyKind.InitiatorDeclarative && key.Field == KeyField.None) continue;
            if (key.Kind == KeyKind.Command)
            {
                // §13.3: SendTargets is a full feature phase text command, not a login key.
                response.Add(pair.Key, Irrelevant);
                continue;
            }
            if (key.Kind == KeyKind.TargetDeclarative)
            {
                // §13.9: only the target declares TargetPortalGroupTag; an initiator sending it errs.
                if (key.Name == "TargetPortalGroupTag") return LoginStatus.InitiatorError;
                response.Add(pair.Key, Irrelevant);
                continue;
            }
            if (sessionType == SessionType.Discovery && (key.Use & KeyUse.NormalSessionOnly) != 0)
            {
                response.Add(pair.Key, Irrelevant);
                continue;
            }
            string? answer = Answer(key, pair.Value, parameters);
            if (answer is not null) response.Add(pair.Key, answer);
        }
        return LoginStatus.Success;
    }

    /// <summary>
    /// Answers the keys of a full feature phase Text request (§11.10): only keys usable in FFP
    /// (MaxRecvDataSegmentLength) change anything; login-only keys are rejected, unknown ones not understood.
    /// SendTargets is skipped (the caller answers it).
    /// </summary>
    public static void NegotiateFullFeature(TextParameters request, TextParameters response, OperationalParameters parameters)
    {
        foreach (KeyValuePair<string, string> pair in request.Pairs)
        {
            KeyDefinition? key = KeyTable.Find(pair.Key);
            if (key is null) { response.Add(pair.Key, NotUnderstood); continue; }
            if (key.Kind == KeyKind.Command) continue;
            if ((key.Use & KeyUse.FullFeature) == 0) { response.Add(pair.Key, Reject); continue; }
            string? answer = Answer(key, pair.Value, parameters);
            if (answer is not null) response.Add(pair.Key, answer);
        }
    }

    /// <summary>Computes our answer to one offered key (null: declarative, no answer due).</summary>
    public static string? Answer(KeyDefinition key, string offered, OperationalParameters parameters)
    {
        // §6.2: these values answer our own offers; we make none, so they need no reply.
        if (offered is NotUnderstood or Irrelevant or Reject) return null;
        switch (key.Kind)
        {
            case KeyKind.InitiatorDeclarative:
                if (!TryParseNumber(offered, out long declared) || declared < key.Min || declared > key.Max) return Reject;
                Apply(key.Field, declared, parameters);
                return null;
            case KeyKind.List:
                foreach (string candidate in offered.Split(','))
                {
                    foreach (string ours in key.TargetValue.Split(','))
                    {
                        if (candidate != ours) continue;
                        Apply(key.Field, ours == "CRC32C" ? 1 : 0, parameters);
                        return ours;
                    }
                }
                return Reject;
            case KeyKind.BooleanAnd:
            case KeyKind.BooleanOr:
                {
                    if (offered is not ("Yes" or "No")) return Reject;
                    bool theirs = offered == "Yes";
                    bool ours = key.TargetValue == "Yes";
                    bool result = key.Kind == KeyKind.BooleanAnd ? theirs && ours : theirs || ours;
                    Apply(key.Field, result ? 1 : 0, parameters);
                    return result ? "Yes" : "No";
                }
            case KeyKind.NumericMin:
            case KeyKind.NumericMax:
                {
                    if (!TryParseNumber(offered, out long theirs) || theirs < key.Min || theirs > key.Max) return Reject;
                    long ours = long.Parse(key.TargetValue, CultureInfo.InvariantCulture);
                    long result = key.Kind == KeyKind.NumericMin ? Math.Min(theirs, ours) : Math.Max(theirs, ours);
                    Apply(key.Field, result, parameters);
                    return result.ToString(CultureInfo.InvariantCulture);
                }
            case KeyKind.Obsolete:
                return Irrelevant;
            default:
                return NotUnderstood;
        }
    }

    /// <summary>§6.1/§5.1 numeric values: decimal, or hexadecimal with 0x (bounded to 64 bits).</summary>
    public static bool TryParseNumber(string text, out long value)
    {
        value = 0;
        if (text.Length == 0 || text.Length > 18) return false;
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return text.Length > 2 && long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && value >= 0;
        }
        foreach (char c in text) if (c < '0' || c > '9') return false;
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    private static void Apply(KeyField field, long value, OperationalParameters p)
    {
        switch (field)
        {
            case KeyField.HeaderDigest: p.HeaderDigest = value != 0; break;
            case KeyField.DataDigest: p.DataDigest = value != 0; break;
            case KeyField.MaxConnections: p.MaxConnections = (int)value; break;
            case KeyField.InitialR2T: p.InitialR2T = value != 0; break;
            case KeyField.ImmediateData: p.ImmediateData = value != 0; break;
            case KeyField.MaxRecvDataSegmentLength: p.InitiatorMaxRecvDataSegmentLength = (int)value; break;
            case KeyField.MaxBurstLength: p.MaxBurstLength = (int)value; break;
            case KeyField.FirstBurstLength: p.FirstBurstLength = (int)value; break;
            case KeyField.DefaultTime2Wait: p.DefaultTime2Wait = (int)value; break;
            case KeyField.DefaultTime2Retain: p.DefaultTime2Retain = (int)value; break;
            case KeyField.MaxOutstandingR2T: p.MaxOutstandingR2T = (int)value; break;
            case KeyField.DataPDUInOrder: p.DataPDUInOrder = value != 0; break;
            case KeyField.DataSequenceInOrder: p.DataSequenceInOrder = value != 0; break;
            case KeyField.ErrorRecoveryLevel: p.ErrorRecoveryLevel = (int)value; break;
            case KeyField.None: break;
        }
    }
}
