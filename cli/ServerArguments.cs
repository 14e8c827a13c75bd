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
    public string DataDirectory { get; private init; } = "";
    /// <summary>Portals (--portal, repeatable); the default when none is given.</summary>
    public List<IPEndPoint> Portals { get; } = new();
    /// <summary>Whether to create the demo target (--demo).</summary>
    public bool Demo { get; private init; }
    /// <summary>One-way CHAP credentials for the demo target (--chap).</summary>
    public ChapCredentials? Chap { get; private set; }
    /// <summary>Mutual CHAP credentials (--mutual-chap).</summary>
    public ChapCredentials? MutualChap { get; private set; }
    /// <summary>Management API endpoint (--api); null means 127.0.0.1:7070.</summary>
    public string? Api { get; private init; }

    private static readonly IReadOnlySet<string> Flags = new HashSet<string>(StringComparer.Ordinal) { "--demo" };
    private static readonly IReadOnlySet<string> ValueOptions = new HashSet<string>(StringComparer.Ordinal) { "--data", "--portal", "--chap", "--mutual-chap", "--api" };

    /// <summary>Parses <paramref name="args"/> (after the word "server"); returns null and an error line on bad input.</summary>
    public static ServerArguments? Parse(ReadOnlySpan<string> args, out string? error)
    {
        if (Admin.CommandLine.ParseOptions(args, Flags, ValueOptions, "sds --help", out error) is not { } line)
        {
            return null;
        }

        var parsed = new ServerArguments { DataDirectory = line.Option("--data") ?? "", Demo = line.Flag("--demo"), Api = line.Option("--api") };
        foreach (string value in line.Values("--portal"))
        {
            if (!TryParseEndPoint(value, out IPEndPoint? endPoint))
            {
                error = $"--portal {value}: expected HOST:PORT with a numeric IP address and a port 1-65535";
                return null;
            }

            parsed.Portals.Add(endPoint!);
        }

        if (parsed.Api is not null && !TryParseEndPoint(parsed.Api, out _))
        {
            error = $"--api {parsed.Api}: expected HOST:PORT";
            return null;
        }

        foreach (string option in (ReadOnlySpan<string>)["--chap", "--mutual-chap"])
        {
            if (line.Option(option) is not { } value)
            {
                continue;
            }

            int colon = value.IndexOf(':');
            if (colon <= 0 || colon == value.Length - 1)
            {
                error = $"{option}: expected USER:SECRET";
                return null;
            }

            var credentials = new ChapCredentials(value[..colon], value[(colon + 1)..]);
            if (option == "--chap") parsed.Chap = credentials; else parsed.MutualChap = credentials;
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
        // The demo target's CHAP goes through meta, which holds every target to the same rules: say so now, as a
        // usage error, rather than failing after the cluster started.
        if (Sds.Meta.State.MetaValidation.Chap(DemoTarget.Chap(parsed.Chap, parsed.MutualChap)) is { } chapError)
        {
            error = $"--chap/--mutual-chap: {chapError}";
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
