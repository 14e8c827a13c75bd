using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Iscsi.Pdu;

namespace Sds.Gateway.Iscsi.Login;

/// <summary>
/// The login phase of one connection (RFC 7143 §6): stage transitions (CSG/NSG), the security
/// stage (AuthMethod, CHAP), operational negotiation through <see cref="KeyNegotiator"/>, and the
/// checks on names, target and access list. It builds answers; the connection moves the PDUs.
/// </summary>
internal sealed class LoginNegotiation
{
    private readonly TargetCatalog _catalog;
    private readonly Portal _portal;
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly List<byte> _accumulated = new();
    private ChapAuthenticator? _chap;
    private bool _first = true;
    private bool _authenticated;
    private bool _authMethodChosen;
    private bool _declaredMaxRecv;
    private int _pduCount;

    /// <summary>Creates the login state of a connection accepted on <paramref name="portal"/>.</summary>
    public LoginNegotiation(TargetCatalog catalog, Portal portal)
    {
        _catalog = catalog;
        _portal = portal;
    }

    /// <summary>The stage the login is in (CSG).</summary>
    public LoginStage Stage { get; private set; } = LoginStage.SecurityNegotiation;
    /// <summary>Final status when the outcome is <see cref="LoginOutcome.Failed"/>.</summary>
    public LoginStatus Status { get; private set; }
    /// <summary>Session type declared by the initiator.</summary>
    public SessionType SessionType { get; private set; }
    /// <summary>InitiatorName declared by the initiator.</summary>
    public string InitiatorName { get; private set; } = "";
    /// <summary>InitiatorAlias, if declared.</summary>
    public string? InitiatorAlias { get; private set; }
    /// <summary>Target of a normal session.</summary>
    public TargetNode? Target { get; private set; }
    /// <summary>ISID of the first login request.</summary>
    public ulong Isid { get; private set; }
    /// <summary>TSIH of the first login request (0 = new session, RFC 7143 §11.12.6).</summary>
    public ushort RequestedTsih { get; private set; }
    /// <summary>CID of the connection.</summary>
    public ushort Cid { get; private set; }
    /// <summary>ITT of the login (constant through the login, §11.12.4).</summary>
    public uint InitiatorTaskTag { get; private set; }
    /// <summary>CmdSN of the first login request: the session's first ExpCmdSN (§11.12.7).</summary>
    public uint InitialCmdSN { get; private set; }
    /// <summary>ExpStatSN of the first login request.</summary>
    public uint InitialExpStatSN { get; private set; }
    /// <summary>The negotiated operational parameters.</summary>
    public OperationalParameters Parameters { get; } = new();

    /// <summary>
    /// Processes one Login Request and fills <paramref name="response"/> keys and
    /// <paramref name="responseFlags"/> (T, C, CSG, NSG of §11.13).
    /// </summary>
    public LoginOutcome Process(InboundHeader header, ReadOnlySpan<byte> data, TextParameters response, out byte responseFlags)
    {
        Bhs bhs = header.Bhs;
        byte flags = bhs.Flags;
        bool transit = (flags & 0x80) != 0;
        bool continuing = (flags & 0x40) != 0;
        var csg = (LoginStage)((flags >> 2) & 0x3);
        var nsg = (LoginStage)(flags & 0x3);
        responseFlags = (byte)((int)csg << 2);
        if (++_pduCount > IscsiLimits.LoginPdusMax) return Fail(LoginStatus.InitiatorError);
        if (_first)
        {
            Isid = bhs.Isid;
            RequestedTsih = bhs.Tsih;
            InitiatorTaskTag = bhs.InitiatorTaskTag;
            Cid = (ushort)(bhs.Field20 >> 16);
            InitialCmdSN = bhs.Field24;
            InitialExpStatSN = bhs.Field28;
            // §11.12.9: Version-min above our only version (0x00) cannot be served.
            if (bhs.Byte3 > 0) return Fail(LoginStatus.UnsupportedVersion);
        }
        else if (bhs.Isid != Isid || bhs.Tsih != RequestedTsih || bhs.InitiatorTaskTag != InitiatorTaskTag)
        {
            // §6.3: ISID, TSIH and ITT stay the same for every PDU of one login.
            return Fail(LoginStatus.InitiatorError);
        }
        if (csg != Stage && !(_first && csg == LoginStage.OperationalNegotiation)) return Fail(LoginStatus.InitiatorError);
        if (transit && (nsg == (LoginStage)2 || (int)nsg <= (int)csg)) return Fail(LoginStatus.InitiatorError);
        if (transit && continuing) return Fail(LoginStatus.InitiatorError);

        // §6.5 / §11.12.2: text split with C=1 is gathered; the target answers each part empty.
        if (_accumulated.Count + data.Length > IscsiLimits.TextNegotiationBytesMax) return Fail(LoginStatus.InitiatorError);
        foreach (byte b in data) _accumulated.Add(b);
        if (continuing) return LoginOutcome.Continue;
        var request = new TextParameters();
        TextParseStatus parse = TextParameters.Parse(_accumulated.ToArray(), request);
        _accumulated.Clear();
        if (parse != TextParseStatus.Ok) return Fail(LoginStatus.InitiatorError);

        if (_first)
        {
            LoginStatus first = ProcessFirst(request, response);
            if (first != LoginStatus.Success) return Fail(first);
            _first = false;
            Stage = csg;
        }

        LoginStatus stage = csg == LoginStage.SecurityNegotiation ? ProcessSecurity(request, response) : ProcessOperational(request, response);
        if (stage != LoginStatus.Success) return Fail(stage);
        LoginStatus negotiated = KeyNegotiator.NegotiateLogin(request, response, Parameters, SessionType, _seen);
        if (negotiated != LoginStatus.Success) return Fail(negotiated);

        bool mayTransit = transit && (csg != LoginStage.SecurityNegotiation || _authenticated);
        if (!mayTransit) return LoginOutcome.Continue;
        responseFlags = (byte)(0x80 | ((int)csg << 2) | (int)nsg);
        Stage = nsg;
        if (nsg != LoginStage.FullFeaturePhase)
        {
            DeclareMaxRecv(response);
            return LoginOutcome.Continue;
        }
        if (!_authenticated) return Fail(LoginStatus.AuthenticationFailure);
        DeclareMaxRecv(response);
        return LoginOutcome.Complete;
    }

    private void DeclareMaxRecv(TextParameters response)
    {
        if (_declaredMaxRecv) return;
        // §13.12: each side declares the largest data segment it can receive.
        response.Add("MaxRecvDataSegmentLength", IscsiLimits.MaxRecvDataSegmentLengthBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _declaredMaxRecv = true;
    }

    private LoginStatus ProcessFirst(TextParameters request, TextParameters response)
    {
        // §13.5: InitiatorName MUST be in the first login request.
        if (!request.TryGet("InitiatorName", out string initiatorName) || initiatorName.Length == 0) return LoginStatus.MissingParameter;
        InitiatorName = initiatorName;
        if (request.TryGet("InitiatorAlias", out string alias)) InitiatorAlias = alias;
        SessionType = SessionType.Normal;
        if (request.TryGet("SessionType", out string sessionType))
        {
            if (sessionType == "Discovery") SessionType = SessionType.Discovery;
            else if (sessionType != "Normal") return LoginStatus.SessionTypeNotSupported;
        }
        if (SessionType == SessionType.Normal)
        {
            // §13.4: TargetName is required in the first login request of a normal session.
            if (!request.TryGet("TargetName", out string targetName) || targetName.Length == 0) return LoginStatus.MissingParameter;
            Target = _catalog.Find(targetName);
            if (Target is null) return LoginStatus.NotFound;
            if (!Target.Allows(initiatorName)) return LoginStatus.AuthorizationFailure;
            if (Target.Alias is not null) response.Add("TargetAlias", Target.Alias);
        }
        // §13.9: the target declares its portal group tag in the first login response.
        response.Add("TargetPortalGroupTag", _portal.PortalGroupTag.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (Target?.Chap is null) _authenticated = true;
        return LoginStatus.Success;
    }

    private LoginStatus ProcessSecurity(TextParameters request, TextParameters response)
    {
        if (!_authMethodChosen)
        {
            // §12: AuthMethod opens the security stage.
            if (!request.TryGet("AuthMethod", out string offered)) return _authenticated ? LoginStatus.Success : LoginStatus.AuthenticationFailure;
            if (!_seen.Add("AuthMethod")) return LoginStatus.InitiatorError;
            _authMethodChosen = true;
            string ours = Target?.Chap is not null ? "CHAP" : "None";
            foreach (string candidate in offered.Split(','))
            {
                if (candidate != ours) continue;
                response.Add("AuthMethod", ours);
                if (ours == "CHAP") _chap = new ChapAuthenticator(Target!.Chap!, Target.MutualChap);
                return LoginStatus.Success;
            }
            response.Add("AuthMethod", KeyNegotiator.Reject);
            return LoginStatus.AuthenticationFailure;
        }
        if (request.Contains("AuthMethod")) return LoginStatus.InitiatorError;
        if (_chap is null || _authenticated) return LoginStatus.Success;
        ChapStep step = _chap.Process(request, response);
        if (step == ChapStep.Failure) return LoginStatus.AuthenticationFailure;
        if (step == ChapStep.Success) _authenticated = true;
        return LoginStatus.Success;
    }

    private LoginStatus ProcessOperational(TextParameters request, TextParameters response)
    {
        // §6.3: an initiator that skips the security stage must not reach a target that requires it.
        if (!_authenticated) return LoginStatus.AuthenticationFailure;
        foreach (KeyValuePair<string, string> pair in request.Pairs)
        {
            KeyDefinition? key = KeyTable.Find(pair.Key);
            if (key?.Kind == KeyKind.Security) return LoginStatus.InitiatorError;
        }
        return LoginStatus.Success;
    }

    private LoginOutcome Fail(LoginStatus status)
    {
        Invariant.Assert(status != LoginStatus.Success, "a failure has a failing status");
        Status = status;
        return LoginOutcome.Failed;
    }
}
