namespace Sds.Gateway.Iscsi.Login;

/// <summary>
/// The RFC 7143 §13 keys this target knows, as data (dispatch is data, STYLE.md): kind,
/// where they may appear, legal range and our value. Unknown keys are answered NotUnderstood (§6.2).
/// </summary>
internal static class KeyTable
{
    private const long Length24Max = 16_777_215;

    /// <summary>All known keys by name.</summary>
    public static readonly IReadOnlyDictionary<string, KeyDefinition> Keys = Build();

    /// <summary>Looks up a key.</summary>
    public static KeyDefinition? Find(string name) => Keys.TryGetValue(name, out KeyDefinition? key) ? key : null;

    private static Dictionary<string, KeyDefinition> Build()
    {
        var list = new KeyDefinition[]
        {
            // §13.1 digests: list, IO, both session types; our preference follows the initiator's order.
            new("HeaderDigest", KeyKind.List, KeyUse.InitializeOnly, 0, 0, "CRC32C,None", KeyField.HeaderDigest),
            new("DataDigest", KeyKind.List, KeyUse.InitializeOnly, 0, 0, "CRC32C,None", KeyField.DataDigest),
            // §13.2 MaxConnections: Minimum, 1..65535, LO. We do not support MC/S, so 1.
            new("MaxConnections", KeyKind.NumericMin, KeyUse.LeadingOnly | KeyUse.NormalSessionOnly, 1, 65535, "1", KeyField.MaxConnections),
            // §13.3 SendTargets: a command in full feature phase text requests.
            new("SendTargets", KeyKind.Command, KeyUse.FullFeature, 0, 0, "", KeyField.None),
            // §13.4–§13.9 names, aliases, address and TPGT.
            new("TargetName", KeyKind.InitiatorDeclarative, KeyUse.InitializeOnly, 0, 0, "", KeyField.None),
            new("InitiatorName", KeyKind.InitiatorDeclarative, KeyUse.InitializeOnly, 0, 0, "", KeyField.None),
            new("TargetAlias", KeyKind.TargetDeclarative, KeyUse.None, 0, 0, "", KeyField.None),
            new("InitiatorAlias", KeyKind.InitiatorDeclarative, KeyUse.None, 0, 0, "", KeyField.None),
            new("TargetAddress", KeyKind.TargetDeclarative, KeyUse.None, 0, 0, "", KeyField.None),
            new("TargetPortalGroupTag", KeyKind.TargetDeclarative, KeyUse.InitializeOnly, 0, 0, "", KeyField.None),
            // §13.10 InitialR2T: OR, LO. We accept unsolicited data, so our value is No.
            new("InitialR2T", KeyKind.BooleanOr, KeyUse.LeadingOnly | KeyUse.NormalSessionOnly, 0, 0, "No", KeyField.InitialR2T),
            // §13.11 ImmediateData: AND, LO.
            new("ImmediateData", KeyKind.BooleanAnd, KeyUse.LeadingOnly | KeyUse.NormalSessionOnly, 0, 0, "Yes", KeyField.ImmediateData),
            // §13.12 MaxRecvDataSegmentLength: declarative, 512..2^24-1, per connection, may change in FFP.
            new("MaxRecvDataSegmentLength", KeyKind.InitiatorDeclarative, KeyUse.FullFeature, 512, Length24Max, "", KeyField.MaxRecvDataSegmentLength),
            // §13.13 MaxBurstLength and §13.14 FirstBurstLength: Minimum, 512..2^24-1, LO.
            new("MaxBurstLength", KeyKind.NumericMin, KeyUse.LeadingOnly | KeyUse.NormalSessionOnly, 512, Length24Max, IscsiLimits.MaxBurstLengthBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), KeyField.MaxBurstLength),
            new("FirstBurstLength", KeyKind.NumericMin, KeyUse.LeadingOnly | KeyUse.NormalSessionOnly, 512, Length24Max, IscsiLimits.FirstBurstLengthBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), KeyField.FirstBurstLength),
            // §13.15 DefaultTime2Wait: Maximum, 0..3600. Our floor is 0: the initiator's value stands.
            new("DefaultTime2Wait", KeyKind.NumericMax, KeyUse.LeadingOnly, 0, 3600, "0", KeyField.DefaultTime2Wait),
            // §13.16 DefaultTime2Retain: Minimum, 0..3600. ERL 0 keeps no state after a drop: 0.
            new("DefaultTime2Retain", KeyKind.NumericMin, KeyUse.LeadingOnly, 0, 3600, "0", KeyField.DefaultTime2Retain),
            // §13.17 MaxOutstandingR2T: Minimum, 1..65535, LO.
            new("MaxOutstandingR2T", KeyKind.NumericMin, KeyUse.LeadingOnly | KeyUse.NormalSessionOnly, 1, 65535, IscsiLimits.OutstandingR2TMax.ToString(System.Globalization.CultureInfo.InvariantCulture), KeyField.MaxOutstandingR2T),
            // §13.18/§13.19: OR; we want in-order data (Yes) so the result is always Yes.
            new("DataPDUInOrder", KeyKind.BooleanOr, KeyUse.LeadingOnly | KeyUse.NormalSessionOnly, 0, 0, "Yes", KeyField.DataPDUInOrder),
            new("DataSequenceInOrder", KeyKind.BooleanOr, KeyUse.LeadingOnly | KeyUse.NormalSessionOnly, 0, 0, "Yes", KeyField.DataSequenceInOrder),
            // §13.20 ErrorRecoveryLevel: Minimum, 0..2. We implement level 0 only.
            new("ErrorRecoveryLevel", KeyKind.NumericMin, KeyUse.LeadingOnly, 0, 2, "0", KeyField.ErrorRecoveryLevel),
            // §13.21 SessionType: declarative, leading login only.
            new("SessionType", KeyKind.InitiatorDeclarative, KeyUse.LeadingOnly, 0, 0, "", KeyField.None),
            // §13.23 TaskReporting (RFC 7144 values): list; we report tasks the RFC 3720 way.
            new("TaskReporting", KeyKind.List, KeyUse.LeadingOnly | KeyUse.NormalSessionOnly, 0, 0, "RFC3720", KeyField.None),
            // §13.24 iSCSIProtocolLevel: Minimum, 0..31; this target implements RFC 7143 = 1.
            new("iSCSIProtocolLevel", KeyKind.NumericMin, KeyUse.LeadingOnly, 0, 31, "1", KeyField.None),
            // RFC 3720 §A.3.2 markers, removed by RFC 7143: never used here.
            new("OFMarker", KeyKind.BooleanAnd, KeyUse.InitializeOnly, 0, 0, "No", KeyField.None),
            new("IFMarker", KeyKind.BooleanAnd, KeyUse.InitializeOnly, 0, 0, "No", KeyField.None),
            new("OFMarkInt", KeyKind.Obsolete, KeyUse.InitializeOnly, 0, 0, "", KeyField.None),
            new("IFMarkInt", KeyKind.Obsolete, KeyUse.InitializeOnly, 0, 0, "", KeyField.None),
            // §12 security keys.
            new("AuthMethod", KeyKind.Security, KeyUse.InitializeOnly, 0, 0, "", KeyField.None),
            new("CHAP_A", KeyKind.Security, KeyUse.InitializeOnly, 0, 0, "", KeyField.None),
            new("CHAP_I", KeyKind.Security, KeyUse.InitializeOnly, 0, 0, "", KeyField.None),
            new("CHAP_C", KeyKind.Security, KeyUse.InitializeOnly, 0, 0, "", KeyField.None),
            new("CHAP_N", KeyKind.Security, KeyUse.InitializeOnly, 0, 0, "", KeyField.None),
            new("CHAP_R", KeyKind.Security, KeyUse.InitializeOnly, 0, 0, "", KeyField.None),
        };
        var keys = new Dictionary<string, KeyDefinition>(StringComparer.Ordinal);
        foreach (KeyDefinition key in list) keys.Add(key.Name, key);
        return keys;
    }
}
