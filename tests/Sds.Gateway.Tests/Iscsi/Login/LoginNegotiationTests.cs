using System.Buffers.Binary;
using System.Net;
using System.Text;
using Sds.Gateway.Block;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Iscsi.Login;
using Sds.Gateway.Iscsi.Pdu;
using Sds.Gateway.Scsi;

namespace Sds.Gateway.Tests.Iscsi.Login;

/// <summary>
/// Proves the login phase (RFC 7143 §6, §11.12/§11.13) on real Login Request headers: stage
/// transitions, required keys, target lookup and ACL, AuthMethod selection, CHAP through to full
/// feature phase, and the refusals (wrong secret, skipped security, unsupported version).
/// </summary>
public class LoginNegotiationTests
{
    private const string TargetName = "iqn.2026-11.io.sds:test";
    private const string InitiatorName = "iqn.2026-11.io.sds:initiator";

    private static TargetCatalog Catalog(ChapCredentials? chap = null, ChapCredentials? mutual = null, string[]? acl = null)
    {
        var device = new ScsiTargetDevice();
        device.AddLogicalUnit(0, new LogicalUnit(new MemoryBlockDevice(1 << 20), new LogicalUnitIdentity(Guid.Parse("7f1b6c2e-3d4a-4b5c-8d9e-0a1b2c3d4e5f"))));
        var catalog = new TargetCatalog();
        catalog.AddTarget(new TargetNode(TargetName, "alias", device, chap, mutual, acl));
        catalog.AddPortal(new Portal(new IPEndPoint(IPAddress.Loopback, 3260), 1, 1, 1));
        return catalog;
    }

    private static InboundHeader Header(bool transit, LoginStage csg, LoginStage nsg, byte versionMin = 0)
    {
        var header = new InboundHeader();
        byte[] b = header.BhsBytes;
        b[0] = 0x43;
        b[1] = (byte)((transit ? 0x80 : 0) | ((int)csg << 2) | (int)nsg);
        b[3] = versionMin;
        new Bhs(b).Isid = 0x0002_3d00_0001;
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(16), 0x10);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(24), 5);
        return header;
    }

    private static (LoginOutcome Outcome, TextParameters Response, byte Flags) Step(LoginNegotiation login, InboundHeader header, string text)
    {
        var response = new TextParameters();
        LoginOutcome outcome = login.Process(header, Encoding.UTF8.GetBytes(text), response, out byte flags);
        return (outcome, response, flags);
    }

    [Fact]
    public void OperationalOnlyLoginReachesFullFeaturePhase()
    {
        var login = new LoginNegotiation(Catalog(), Catalog().Portals[0]);
        (LoginOutcome outcome, TextParameters response, byte flags) = Step(login, Header(true, LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase),
            $"InitiatorName={InitiatorName}\0TargetName={TargetName}\0SessionType=Normal\0MaxBurstLength=65536\0");
        Assert.Equal(LoginOutcome.Complete, outcome);
        Assert.Equal(0x80 | (1 << 2) | 3, flags);
        Assert.True(response.TryGet("TargetPortalGroupTag", out string tpgt));
        Assert.Equal("1", tpgt);
        Assert.True(response.TryGet("MaxBurstLength", out string burst));
        Assert.Equal("65536", burst);
        Assert.True(response.Contains("MaxRecvDataSegmentLength"));
        Assert.Equal(5u, login.InitialCmdSN);
        Assert.Equal(0x0002_3d00_0001ul, login.Isid);
    }

    [Fact]
    public void SecurityStageWithNoneThenOperational()
    {
        TargetCatalog catalog = Catalog();
        var login = new LoginNegotiation(catalog, catalog.Portals[0]);
        (LoginOutcome outcome, TextParameters response, byte flags) = Step(login, Header(true, LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            $"InitiatorName={InitiatorName}\0TargetName={TargetName}\0AuthMethod=None\0");
        Assert.Equal(LoginOutcome.Continue, outcome);
        Assert.Equal(0x80 | 1, flags);
        Assert.True(response.TryGet("AuthMethod", out string method));
        Assert.Equal("None", method);
        (outcome, _, _) = Step(login, Header(true, LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase), "ImmediateData=Yes\0");
        Assert.Equal(LoginOutcome.Complete, outcome);
    }

    [Theory]
    [InlineData("TargetName=" + TargetName + "\0", (int)LoginStatus.MissingParameter)]
    [InlineData("InitiatorName=" + InitiatorName + "\0", (int)LoginStatus.MissingParameter)]
    [InlineData("InitiatorName=" + InitiatorName + "\0TargetName=iqn.nope\0", (int)LoginStatus.NotFound)]
    [InlineData("InitiatorName=" + InitiatorName + "\0SessionType=Bogus\0", (int)LoginStatus.SessionTypeNotSupported)]
    [InlineData("InitiatorName=" + InitiatorName + "\0TargetName=" + TargetName + "\0Broken\0", (int)LoginStatus.InitiatorError)]
    public void FirstRequestChecks(string text, int expectedStatus)
    {
        var expected = (LoginStatus)expectedStatus;
        TargetCatalog catalog = Catalog();
        var login = new LoginNegotiation(catalog, catalog.Portals[0]);
        Assert.Equal(LoginOutcome.Failed, Step(login, Header(true, LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase), text).Outcome);
        Assert.Equal(expected, login.Status);
    }

    [Fact]
    public void AccessListRefusesOtherInitiators()
    {
        TargetCatalog catalog = Catalog(acl: ["iqn.2026-11.io.sds:someone-else"]);
        var login = new LoginNegotiation(catalog, catalog.Portals[0]);
        Step(login, Header(true, LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase), $"InitiatorName={InitiatorName}\0TargetName={TargetName}\0");
        Assert.Equal(LoginStatus.AuthorizationFailure, login.Status);
    }

    [Fact]
    public void UnsupportedVersionIsRefused()
    {
        TargetCatalog catalog = Catalog();
        var login = new LoginNegotiation(catalog, catalog.Portals[0]);
        Step(login, Header(true, LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase, versionMin: 1), $"InitiatorName={InitiatorName}\0TargetName={TargetName}\0");
        Assert.Equal(LoginStatus.UnsupportedVersion, login.Status);
    }

    [Fact]
    public void SkippingSecurityOnAChapTargetIsAnAuthenticationFailure()
    {
        TargetCatalog catalog = Catalog(new ChapCredentials("alice", "secret"));
        var login = new LoginNegotiation(catalog, catalog.Portals[0]);
        Step(login, Header(true, LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase), $"InitiatorName={InitiatorName}\0TargetName={TargetName}\0");
        Assert.Equal(LoginStatus.AuthenticationFailure, login.Status);
    }

    [Theory]
    [InlineData("secret", (int)LoginOutcome.Complete)]
    [InlineData("wrong", (int)LoginOutcome.Failed)]
    public void ChapLoginEndToEnd(string secret, int expectedOutcome)
    {
        var expected = (LoginOutcome)expectedOutcome;
        TargetCatalog catalog = Catalog(new ChapCredentials("alice", "secret"));
        var login = new LoginNegotiation(catalog, catalog.Portals[0]);
        (LoginOutcome outcome, TextParameters response, byte flags) = Step(login, Header(true, LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            $"InitiatorName={InitiatorName}\0TargetName={TargetName}\0AuthMethod=None,CHAP\0");
        Assert.Equal(LoginOutcome.Continue, outcome);
        Assert.Equal(0, flags & 0x80);
        Assert.True(response.TryGet("AuthMethod", out string method));
        Assert.Equal("CHAP", method);
        (outcome, response, _) = Step(login, Header(false, LoginStage.SecurityNegotiation, LoginStage.SecurityNegotiation), "CHAP_A=5\0");
        Assert.Equal(LoginOutcome.Continue, outcome);
        Assert.True(response.TryGet("CHAP_I", out string id));
        Assert.True(response.TryGet("CHAP_C", out string challengeText));
        Assert.True(ChapAuthenticator.TryDecodeBinary(challengeText, out byte[] challenge));
        string answer = ChapAuthenticator.EncodeHex(ChapAuthenticator.ComputeResponse(byte.Parse(id), Encoding.UTF8.GetBytes(secret), challenge));
        (outcome, _, flags) = Step(login, Header(true, LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation), $"CHAP_N=alice\0CHAP_R={answer}\0");
        if (expected == LoginOutcome.Failed)
        {
            Assert.Equal(LoginOutcome.Failed, outcome);
            Assert.Equal(LoginStatus.AuthenticationFailure, login.Status);
            return;
        }
        Assert.Equal(LoginOutcome.Continue, outcome);
        Assert.Equal(0x80 | 1, flags);
        (outcome, _, _) = Step(login, Header(true, LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase), "HeaderDigest=None\0");
        Assert.Equal(expected, outcome);
    }

    [Fact]
    public void DiscoverySessionNeedsNoTargetName()
    {
        TargetCatalog catalog = Catalog(new ChapCredentials("alice", "secret"));
        var login = new LoginNegotiation(catalog, catalog.Portals[0]);
        (LoginOutcome outcome, _, _) = Step(login, Header(true, LoginStage.SecurityNegotiation, LoginStage.FullFeaturePhase),
            $"InitiatorName={InitiatorName}\0SessionType=Discovery\0AuthMethod=CHAP,None\0");
        Assert.Equal(LoginOutcome.Complete, outcome);
        Assert.Equal(SessionType.Discovery, login.SessionType);
    }

    [Fact]
    public void ContinuedTextIsGatheredBeforeNegotiation()
    {
        TargetCatalog catalog = Catalog();
        var login = new LoginNegotiation(catalog, catalog.Portals[0]);
        InboundHeader partial = Header(false, LoginStage.OperationalNegotiation, LoginStage.OperationalNegotiation);
        partial.BhsBytes[1] |= 0x40; // C bit
        Assert.Equal(LoginOutcome.Continue, Step(login, partial, $"InitiatorName={InitiatorName}\0Targ").Outcome);
        Assert.Equal(LoginOutcome.Complete, Step(login, Header(true, LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase), $"etName={TargetName}\0").Outcome);
    }
}
