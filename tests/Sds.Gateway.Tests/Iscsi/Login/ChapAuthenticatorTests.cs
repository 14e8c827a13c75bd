using System.Text;
using Sds.Gateway.Iscsi.Login;

namespace Sds.Gateway.Tests.Iscsi.Login;

/// <summary>
/// Proves CHAP per RFC 1994 §4.1 (MD5 over identifier, secret, challenge) as RFC 7143 §12.1.3
/// uses it: known-answer vectors, the target side one-way and mutual, a wrong secret refused,
/// and a reflected challenge refused.
/// </summary>
public class ChapAuthenticatorTests
{
    private static readonly ChapCredentials Initiator = new("alice", "secret");
    private static readonly ChapCredentials Target = new("target", "mutualsecret");

    [Fact]
    public void Rfc1994ResponseKnownAnswers()
    {
        // Computed independently: md5(0x01 || "secret" || 00..0f) and md5(0xab || "mutualsecret" || ff×8).
        byte[] challenge = new byte[16];
        for (int i = 0; i < 16; i++) challenge[i] = (byte)i;
        Assert.Equal("740e86463bda3a4d7017d6e0fba0699d", Convert.ToHexString(ChapAuthenticator.ComputeResponse(1, "secret"u8, challenge)).ToLowerInvariant());
        byte[] ones = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        Assert.Equal("32edda0804cd1110fdbb19b0a0a842c2", Convert.ToHexString(ChapAuthenticator.ComputeResponse(0xab, "mutualsecret"u8, ones)).ToLowerInvariant());
    }

    [Theory]
    [InlineData("0x0a0B", new byte[] { 0x0a, 0x0b })]
    [InlineData("0xabc", new byte[] { 0x0a, 0xbc })]
    [InlineData("0bAQID", new byte[] { 1, 2, 3 })]
    public void DecodesBinaryValues(string text, byte[] expected)
    {
        Assert.True(ChapAuthenticator.TryDecodeBinary(text, out byte[] bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("12")]
    [InlineData("0xZZ")]
    [InlineData("0b!!")]
    public void RefusesMalformedBinaryValues(string text) => Assert.False(ChapAuthenticator.TryDecodeBinary(text, out _));

    private static (ChapAuthenticator Chap, byte Id, byte[] Challenge) Start(ChapCredentials? target)
    {
        var chap = new ChapAuthenticator(Initiator, target);
        var request = new TextParameters();
        request.Add("CHAP_A", "7,5");
        var response = new TextParameters();
        Assert.Equal(ChapStep.Continue, chap.Process(request, response));
        Assert.True(response.TryGet("CHAP_A", out string algorithm));
        Assert.Equal("5", algorithm);
        Assert.True(response.TryGet("CHAP_I", out string id));
        Assert.True(response.TryGet("CHAP_C", out string challengeText));
        Assert.True(ChapAuthenticator.TryDecodeBinary(challengeText, out byte[] challenge));
        Assert.Equal(ChapAuthenticator.ChallengeLengthBytes, challenge.Length);
        return (chap, byte.Parse(id), challenge);
    }

    private static TextParameters Answer(byte id, byte[] challenge, string name, string secret)
    {
        var request = new TextParameters();
        request.Add("CHAP_N", name);
        request.Add("CHAP_R", ChapAuthenticator.EncodeHex(ChapAuthenticator.ComputeResponse(id, Encoding.UTF8.GetBytes(secret), challenge)));
        return request;
    }

    [Fact]
    public void OneWayChapSucceedsWithTheRightSecret()
    {
        (ChapAuthenticator chap, byte id, byte[] challenge) = Start(null);
        Assert.Equal(ChapStep.Success, chap.Process(Answer(id, challenge, "alice", "secret"), new TextParameters()));
    }

    [Theory]
    [InlineData("alice", "wrong")]
    [InlineData("mallory", "secret")]
    public void WrongNameOrSecretFails(string name, string secret)
    {
        (ChapAuthenticator chap, byte id, byte[] challenge) = Start(null);
        Assert.Equal(ChapStep.Failure, chap.Process(Answer(id, challenge, name, secret), new TextParameters()));
    }

    [Fact]
    public void UnsupportedAlgorithmFails()
    {
        var chap = new ChapAuthenticator(Initiator, null);
        var request = new TextParameters();
        request.Add("CHAP_A", "6,7");
        var response = new TextParameters();
        Assert.Equal(ChapStep.Failure, chap.Process(request, response));
        Assert.True(response.TryGet("CHAP_A", out string answer));
        Assert.Equal("Reject", answer);
    }

    [Fact]
    public void MutualChapAnswersTheInitiatorsChallenge()
    {
        (ChapAuthenticator chap, byte id, byte[] challenge) = Start(Target);
        TextParameters request = Answer(id, challenge, "alice", "secret");
        byte[] theirs = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8, 7, 6, 5, 4];
        request.Add("CHAP_I", "77");
        request.Add("CHAP_C", ChapAuthenticator.EncodeHex(theirs));
        var response = new TextParameters();
        Assert.Equal(ChapStep.Success, chap.Process(request, response));
        Assert.True(response.TryGet("CHAP_N", out string name));
        Assert.Equal("target", name);
        Assert.True(response.TryGet("CHAP_R", out string answer));
        Assert.Equal(ChapAuthenticator.EncodeHex(ChapAuthenticator.ComputeResponse(77, "mutualsecret"u8, theirs)), answer);
    }

    [Fact]
    public void ReflectedChallengeIsRefused()
    {
        (ChapAuthenticator chap, byte id, byte[] challenge) = Start(Target);
        TextParameters request = Answer(id, challenge, "alice", "secret");
        request.Add("CHAP_I", id.ToString());
        request.Add("CHAP_C", ChapAuthenticator.EncodeHex(challenge));
        var response = new TextParameters();
        Assert.Equal(ChapStep.Failure, chap.Process(request, response));
        Assert.False(response.Contains("CHAP_R"));
    }

    [Fact]
    public void MutualRequestWithoutTargetCredentialsFails()
    {
        (ChapAuthenticator chap, byte id, byte[] challenge) = Start(null);
        TextParameters request = Answer(id, challenge, "alice", "secret");
        request.Add("CHAP_I", "1");
        request.Add("CHAP_C", "0x0102030405060708");
        Assert.Equal(ChapStep.Failure, chap.Process(request, new TextParameters()));
    }

    [Fact]
    public void ChallengesAreFreshPerLogin()
    {
        (_, _, byte[] first) = Start(null);
        (_, _, byte[] second) = Start(null);
        Assert.NotEqual(first, second);
    }
}
