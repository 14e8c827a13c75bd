using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Sds.Gateway.Iscsi.Login;

/// <summary>
/// The target side of CHAP (RFC 7143 §12.1.3 over RFC 1994 with MD5, algorithm 5): one-way,
/// and mutual when the initiator sends its own CHAP_I/CHAP_C. Challenges come from
/// <see cref="RandomNumberGenerator"/> and are fresh per login; an initiator challenge equal to
/// ours (a reflection attack) is refused.
/// </summary>
internal sealed class ChapAuthenticator
{
    /// <summary>RFC 1994 / IANA PPP authentication algorithm number for CHAP with MD5.</summary>
    public const int AlgorithmMd5 = 5;

    /// <summary>Bytes in our challenge.</summary>
    public const int ChallengeLengthBytes = 16;

    /// <summary>Longest initiator challenge accepted (RFC 7143 §12.1.3 bounds binary values).</summary>
    public const int ChallengeLengthBytesMax = 1024;

    private readonly ChapCredentials _initiator;
    private readonly ChapCredentials? _target;
    private byte _identifier;
    private byte[]? _challenge;
    private bool _awaitingResponse;

    /// <summary>Creates an authenticator checking <paramref name="initiator"/> and answering with <paramref name="target"/> for mutual CHAP.</summary>
    public ChapAuthenticator(ChapCredentials initiator, ChapCredentials? target)
    {
        _initiator = initiator;
        _target = target;
    }

    /// <summary>The challenge we sent (for tests).</summary>
    public ReadOnlySpan<byte> Challenge => _challenge;

    /// <summary>The identifier we sent (for tests).</summary>
    public byte Identifier => _identifier;

    /// <summary>Processes the CHAP keys of one login request and writes ours to <paramref name="response"/>.</summary>
    public ChapStep Process(TextParameters request, TextParameters response)
    {
        if (!_awaitingResponse)
        {
            if (!request.TryGet("CHAP_A", out string algorithms)) return ChapStep.Continue;
            bool md5 = false;
            foreach (string a in algorithms.Split(',')) md5 |= a.Trim() == "5";
            if (!md5)
            {
                response.Add("CHAP_A", "Reject");
                return ChapStep.Failure;
            }
            _identifier = (byte)RandomNumberGenerator.GetInt32(256);
            _challenge = RandomNumberGenerator.GetBytes(ChallengeLengthBytes);
            response.Add("CHAP_A", AlgorithmMd5.ToString(CultureInfo.InvariantCulture));
            response.Add("CHAP_I", _identifier.ToString(CultureInfo.InvariantCulture));
            response.Add("CHAP_C", EncodeHex(_challenge));
            _awaitingResponse = true;
            return ChapStep.Continue;
        }
        if (!request.TryGet("CHAP_N", out string name) || !request.TryGet("CHAP_R", out string responseText)) return ChapStep.Failure;
        if (!TryDecodeBinary(responseText, out byte[] received) || received.Length != 16) return ChapStep.Failure;
        byte[] expected = ComputeResponse(_identifier, Encoding.UTF8.GetBytes(_initiator.Secret), _challenge!);
        bool nameOk = name == _initiator.UserName;
        bool responseOk = CryptographicOperations.FixedTimeEquals(expected, received);
        if (!nameOk || !responseOk) return ChapStep.Failure;
        bool mutualAsked = request.TryGet("CHAP_I", out string idText);
        bool challengeSent = request.TryGet("CHAP_C", out string challengeText);
        if (mutualAsked != challengeSent) return ChapStep.Failure;
        if (!mutualAsked) return ChapStep.Success;
        if (_target is null) return ChapStep.Failure;
        if (!KeyNegotiator.TryParseNumber(idText, out long id) || id < 0 || id > 255) return ChapStep.Failure;
        if (!TryDecodeBinary(challengeText, out byte[] theirChallenge) || theirChallenge.Length == 0 || theirChallenge.Length > ChallengeLengthBytesMax) return ChapStep.Failure;
        // RFC 7143 §12.1.3: a target MUST refuse an initiator challenge that repeats its own (reflection).
        if (theirChallenge.AsSpan().SequenceEqual(_challenge)) return ChapStep.Failure;
        response.Add("CHAP_N", _target.UserName);
        response.Add("CHAP_R", EncodeHex(ComputeResponse((byte)id, Encoding.UTF8.GetBytes(_target.Secret), theirChallenge)));
        return ChapStep.Success;
    }

    /// <summary>RFC 1994 §4.1: Response = MD5(Identifier ‖ secret ‖ Challenge).</summary>
    public static byte[] ComputeResponse(byte identifier, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> challenge)
    {
        byte[] input = new byte[1 + secret.Length + challenge.Length];
        input[0] = identifier;
        secret.CopyTo(input.AsSpan(1));
        challenge.CopyTo(input.AsSpan(1 + secret.Length));
        return MD5.HashData(input);
    }

    /// <summary>Encodes bytes as an RFC 7143 §6.1 hex constant ("0x…").</summary>
    public static string EncodeHex(ReadOnlySpan<byte> bytes) => "0x" + Convert.ToHexString(bytes).ToLowerInvariant();

    /// <summary>Decodes an RFC 7143 §6.1 binary value: "0x"/"0X" hex or "0b"/"0B" base64.</summary>
    public static bool TryDecodeBinary(string text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length < 3 || text[0] != '0') return false;
        string body = text[2..];
        try
        {
            if (text[1] is 'x' or 'X')
            {
                if (body.Length % 2 == 1) body = "0" + body;
                bytes = Convert.FromHexString(body);
                return true;
            }
            if (text[1] is 'b' or 'B')
            {
                bytes = Convert.FromBase64String(body);
                return true;
            }
        }
        catch (FormatException)
        {
            return false;
        }
        return false;
    }
}
