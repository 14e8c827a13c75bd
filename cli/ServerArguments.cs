using System.Globalization;
using System.Net;
using Sds.Gateway.Iscsi.Login;

namespace Sds.Cli;

/// <summary>Parsed arguments of <c>sds server</c>; parsing returns an error line instead of throwing.</summary>
internal sealed class ServerArguments
{
    /// <summary>Default iSCSI portal (IANA port 3260, loopback).</summary>
    public static readonly IPEndPoint DefaultPortal = new(IPAddress.Loopback, 3260);

    /// <summary>Data directory (--data).</summary>
    public string DataDirectory { get; private set; } = "";
    /// <summary>Portals (--portal, repeatable); the default when none is given.</summary>
    public List<IPEndPoint> Portals { get; } = new();
    /// <summary>Whether to create the demo target (--demo).</summary>
    public bool Demo { get; private set; }
    /// <summary>One-way CHAP credentials for the demo target (--chap).</summary>
    public ChapCredentials? Chap { get; private set; }
    /// <summary>Mutual CHAP credentials (--mutual-chap).</summary>
    public ChapCredentials? MutualChap { get; private set; }
    /// <summary>Management API endpoint (--api); null means 127.0.0.1:7070.</summary>
    public string? Api { get; private set; }

    /// <summary>Parses <paramref name="args"/> (after the word "server"); returns null and an error line on bad input.</summary>
    public static ServerArguments? Parse(ReadOnlySpan<string> args, out string? error)
    {
        var parsed = new ServerArguments();
        error = null;
        for (int i = 0; i < args.Length; i++)
        {
            string option = args[i];
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            bool takesValue = option is "--data" or "--portal" or "--chap" or "--mutual-chap" or "--api";
            if (takesValue && (value is null || value.StartsWith("--", StringComparison.Ordinal)))
            {
                error = $"{option} needs a value";
                return null;
            }
            switch (option)
            {
                case "--data": parsed.DataDirectory = value!; i++; break;
                case "--demo": parsed.Demo = true; break;
                case "--portal":
                    if (!TryParseEndPoint(value!, out IPEndPoint? endPoint))
                    {
                        error = $"--portal {value}: expected HOST:PORT with a numeric IP address and a port 1-65535";
                        return null;
                    }
                    parsed.Portals.Add(endPoint!);
                    i++;
                    break;
                case "--chap":
                case "--mutual-chap":
                    int colon = value!.IndexOf(':');
                    if (colon <= 0 || colon == value.Length - 1)
                    {
                        error = $"{option}: expected USER:SECRET";
                        return null;
                    }
                    var credentials = new ChapCredentials(value[..colon], value[(colon + 1)..]);
                    if (option == "--chap") parsed.Chap = credentials; else parsed.MutualChap = credentials;
                    i++;
                    break;
                case "--api":
                    // TODO(#4): serve the gRPC management API here; parsed and ignored for now.
                    if (!TryParseEndPoint(value!, out _))
                    {
                        error = $"--api {value}: expected HOST:PORT";
                        return null;
                    }
                    parsed.Api = value;
                    i++;
                    break;
                default:
                    error = $"unknown option '{option}' (see sds --help)";
                    return null;
            }
        }
        if (parsed.DataDirectory.Length == 0)
        {
            error = "--data DIR is required";
            return null;
        }
        if (parsed.MutualChap is not null && parsed.Chap is null)
        {
            error = "--mutual-chap needs --chap";
            return null;
        }
        if ((parsed.Chap is not null) && !parsed.Demo)
        {
            error = "--chap applies to the --demo target; add --demo";
            return null;
        }
        if (parsed.Portals.Count == 0) parsed.Portals.Add(DefaultPortal);
        var distinct = new HashSet<string>();
        foreach (IPEndPoint portal in parsed.Portals)
        {
            if (!distinct.Add(portal.ToString()))
            {
                error = $"--portal {portal} given twice";
                return null;
            }
        }
        return parsed;
    }

    internal static bool TryParseEndPoint(string text, out IPEndPoint? endPoint)
    {
        endPoint = null;
        int colon = text.LastIndexOf(':');
        if (colon <= 0) return false;
        string host = text[..colon].Trim('[', ']');
        if (host == "localhost") host = "127.0.0.1";
        if (!IPAddress.TryParse(host, out IPAddress? address)) return false;
        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port < 1 || port > 65535) return false;
        endPoint = new IPEndPoint(address, port);
        return true;
    }
}
