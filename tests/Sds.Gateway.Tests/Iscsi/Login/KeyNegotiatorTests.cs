using System.Text;
using Sds.Gateway.Iscsi.Login;

namespace Sds.Gateway.Tests.Iscsi.Login;

/// <summary>
/// Proves the operational key table answers per RFC 7143 §6.2 and §13: result functions
/// (Min, Max, AND, OR, list), ranges ("Reject"), unknown keys ("NotUnderstood"), discovery
/// sessions ("Irrelevant"), declarations (no answer), and renegotiation as a protocol error.
/// </summary>
public class KeyNegotiatorTests
{
    private static (LoginStatus Status, TextParameters Response, OperationalParameters Parameters) Negotiate(string text, SessionType type = SessionType.Normal)
    {
        var request = new TextParameters();
        Assert.Equal(TextParseStatus.Ok, TextParameters.Parse(Encoding.UTF8.GetBytes(text), request));
        var response = new TextParameters();
        var parameters = new OperationalParameters();
        LoginStatus status = KeyNegotiator.NegotiateLogin(request, response, parameters, type, new HashSet<string>());
        return (status, response, parameters);
    }

    private static string? Answer(TextParameters response, string key) => response.TryGet(key, out string value) ? value : null;

    [Theory]
    [InlineData("MaxBurstLength=262144", "MaxBurstLength", "262144")]
    [InlineData("MaxBurstLength=16777215", "MaxBurstLength", "1048576")]
    [InlineData("MaxBurstLength=511", "MaxBurstLength", "Reject")]
    [InlineData("FirstBurstLength=0x10000", "FirstBurstLength", "65536")]
    [InlineData("MaxOutstandingR2T=64", "MaxOutstandingR2T", "16")]
    [InlineData("MaxOutstandingR2T=0", "MaxOutstandingR2T", "Reject")]
    [InlineData("MaxConnections=8", "MaxConnections", "1")]
    [InlineData("ErrorRecoveryLevel=2", "ErrorRecoveryLevel", "0")]
    [InlineData("ErrorRecoveryLevel=3", "ErrorRecoveryLevel", "Reject")]
    [InlineData("DefaultTime2Wait=5", "DefaultTime2Wait", "5")]
    [InlineData("DefaultTime2Retain=20", "DefaultTime2Retain", "0")]
    [InlineData("InitialR2T=No", "InitialR2T", "No")]
    [InlineData("InitialR2T=Yes", "InitialR2T", "Yes")]
    [InlineData("ImmediateData=Yes", "ImmediateData", "Yes")]
    [InlineData("ImmediateData=No", "ImmediateData", "No")]
    [InlineData("ImmediateData=Maybe", "ImmediateData", "Reject")]
    [InlineData("DataPDUInOrder=No", "DataPDUInOrder", "Yes")]
    [InlineData("DataSequenceInOrder=No", "DataSequenceInOrder", "Yes")]
    [InlineData("HeaderDigest=None,CRC32C", "HeaderDigest", "None")]
    [InlineData("HeaderDigest=CRC32C,None", "HeaderDigest", "CRC32C")]
    [InlineData("DataDigest=MD5", "DataDigest", "Reject")]
    [InlineData("OFMarker=Yes", "OFMarker", "No")]
    [InlineData("IFMarkInt=2048~4096", "IFMarkInt", "Irrelevant")]
    [InlineData("iSCSIProtocolLevel=2", "iSCSIProtocolLevel", "1")]
    [InlineData("TaskReporting=ResponseFence,RFC3720", "TaskReporting", "RFC3720")]
    [InlineData("X-com.example.Thing=1", "X-com.example.Thing", "NotUnderstood")]
    [InlineData("MadeUpKey=1", "MadeUpKey", "NotUnderstood")]
    [InlineData("SendTargets=All", "SendTargets", "Irrelevant")]
    public void AnswersFollowTheResultFunctions(string offer, string key, string expected)
    {
        (LoginStatus status, TextParameters response, _) = Negotiate(offer + "\0");
        Assert.Equal(LoginStatus.Success, status);
        Assert.Equal(expected, Answer(response, key));
    }

    [Fact]
    public void NegotiatedValuesLandInTheParameters()
    {
        (_, _, OperationalParameters parameters) = Negotiate("HeaderDigest=CRC32C\0DataDigest=CRC32C\0InitialR2T=No\0ImmediateData=No\0MaxBurstLength=65536\0FirstBurstLength=131072\0MaxRecvDataSegmentLength=4096\0MaxOutstandingR2T=4\0");
        Assert.True(parameters.HeaderDigest);
        Assert.True(parameters.DataDigest);
        Assert.False(parameters.InitialR2T);
        Assert.False(parameters.ImmediateData);
        Assert.Equal(65536, parameters.MaxBurstLength);
        Assert.Equal(65536, parameters.EffectiveFirstBurstLength);
        Assert.Equal(4096, parameters.InitiatorMaxRecvDataSegmentLength);
        Assert.Equal(4, parameters.MaxOutstandingR2T);
    }

    [Fact]
    public void DeclarationsGetNoAnswer()
    {
        (LoginStatus status, TextParameters response, OperationalParameters parameters) = Negotiate("MaxRecvDataSegmentLength=65536\0InitiatorAlias=host\0");
        Assert.Equal(LoginStatus.Success, status);
        Assert.Equal(0, response.Count);
        Assert.Equal(65536, parameters.InitiatorMaxRecvDataSegmentLength);
    }

    [Fact]
    public void MaxRecvDataSegmentLengthOutOfRangeIsRejected()
    {
        (_, TextParameters response, OperationalParameters parameters) = Negotiate("MaxRecvDataSegmentLength=100\0");
        Assert.Equal("Reject", Answer(response, "MaxRecvDataSegmentLength"));
        Assert.Equal(8192, parameters.InitiatorMaxRecvDataSegmentLength);
    }

    [Fact]
    public void SessionKeysAreIrrelevantInDiscovery()
    {
        (_, TextParameters response, _) = Negotiate("MaxBurstLength=65536\0InitialR2T=No\0HeaderDigest=None\0", SessionType.Discovery);
        Assert.Equal("Irrelevant", Answer(response, "MaxBurstLength"));
        Assert.Equal("Irrelevant", Answer(response, "InitialR2T"));
        Assert.Equal("None", Answer(response, "HeaderDigest"));
    }

    [Fact]
    public void InitiatorDeclaringTargetPortalGroupTagIsAnError() =>
        Assert.Equal(LoginStatus.InitiatorError, Negotiate("TargetPortalGroupTag=1\0").Status);

    [Fact]
    public void RenegotiatingAKeyInTheSameLoginIsAnError()
    {
        var seen = new HashSet<string>();
        var parameters = new OperationalParameters();
        var first = new TextParameters();
        first.Add("MaxBurstLength", "65536");
        Assert.Equal(LoginStatus.Success, KeyNegotiator.NegotiateLogin(first, new TextParameters(), parameters, SessionType.Normal, seen));
        Assert.Equal(LoginStatus.InitiatorError, KeyNegotiator.NegotiateLogin(first, new TextParameters(), parameters, SessionType.Normal, seen));
    }

    [Fact]
    public void FullFeatureTextRejectsLoginOnlyKeys()
    {
        var request = new TextParameters();
        request.Add("MaxBurstLength", "4096");
        request.Add("MaxRecvDataSegmentLength", "16384");
        request.Add("Unknown", "1");
        var response = new TextParameters();
        var parameters = new OperationalParameters();
        KeyNegotiator.NegotiateFullFeature(request, response, parameters);
        Assert.Equal("Reject", Answer(response, "MaxBurstLength"));
        Assert.Null(Answer(response, "MaxRecvDataSegmentLength"));
        Assert.Equal("NotUnderstood", Answer(response, "Unknown"));
        Assert.Equal(16384, parameters.InitiatorMaxRecvDataSegmentLength);
    }
}
