namespace Sds.Cli.Admin;

/// <summary>
/// A parsed command line: positional words, <c>--name value</c> (or <c>--name=value</c>) options and flags (no
/// value). Options may appear anywhere and may repeat (<see cref="Values"/>; <see cref="Option"/> gives the last).
/// The one parser of the <c>sds</c> executable: admin commands and the daemon roles' arguments.
/// </summary>
internal sealed class CommandLine
{
    /// <summary>The admin commands' flags.</summary>
    public static readonly IReadOnlySet<string> AdminFlags = new HashSet<string>(StringComparer.Ordinal) { "--json", "--force", "--thick", "--removable", "--help", "-h" };

    private readonly Dictionary<string, List<string>> options = new(StringComparer.Ordinal);
    private readonly HashSet<string> used = new(StringComparer.Ordinal);

    private CommandLine(List<string> positional) => Positional = positional;

    /// <summary>Words that are not options, in order.</summary>
    public List<string> Positional { get; }

    /// <summary>Splits admin arguments (<see cref="AdminFlags"/>; unknown options are found later by <see cref="UnknownOption"/>).</summary>
    public static CommandLine? Parse(ReadOnlySpan<string> args, out string? error) => Parse(args, AdminFlags, null, out error);

    /// <summary>For roles without flags.</summary>
    public static readonly IReadOnlySet<string> NoFlags = new HashSet<string>();

    /// <summary>
    /// A daemon role's options (<c>sds server|storage|gateway</c>): like <see cref="Parse(ReadOnlySpan{string}, IReadOnlySet{string}, IReadOnlySet{string}?, out string?)"/>,
    /// and a positional argument is an error naming <paramref name="help"/>.
    /// </summary>
    public static CommandLine? ParseOptions(ReadOnlySpan<string> args, IReadOnlySet<string> flags, IReadOnlySet<string> valueOptions, string help, out string? error)
    {
        if (Parse(args, flags, valueOptions, out error) is not { } line)
        {
            return null;
        }

        if (line.Positional.Count > 0)
        {
            error = $"unexpected argument '{line.Positional[0]}' (see {help})";
            return null;
        }

        return line;
    }

    /// <summary>
    /// Splits <paramref name="args"/>; null with one <paramref name="error"/> line when an option lacks its value (none
    /// follows, or the next word is itself an option) or, when <paramref name="valueOptions"/> is given, is neither one
    /// of them nor one of <paramref name="flags"/>.
    /// </summary>
    public static CommandLine? Parse(ReadOnlySpan<string> args, IReadOnlySet<string> flags, IReadOnlySet<string>? valueOptions, out string? error)
    {
        error = null;
        var line = new CommandLine([]);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith('-') || arg == "-")
            {
                line.Positional.Add(arg);
                continue;
            }

            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            string name = equals > 0 ? arg[..equals] : arg;
            if (valueOptions is not null && !valueOptions.Contains(name) && !flags.Contains(name))
            {
                error = $"unknown option '{name}' (see sds --help)";
                return null;
            }

            if (equals > 0)
            {
                line.Add(name, arg[(equals + 1)..]);
            }
            else if (flags.Contains(arg))
            {
                line.Add(arg, "true");
            }
            else if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                line.Add(arg, args[++i]);
            }
            else
            {
                error = $"option {arg} needs a value";
                return null;
            }
        }

        return line;
    }

    /// <summary>The value of <paramref name="name"/> (the last one when repeated), or null.</summary>
    public string? Option(string name)
    {
        used.Add(name);
        return options.TryGetValue(name, out List<string>? values) ? values[^1] : null;
    }

    /// <summary>Every value of <paramref name="name"/>, in order (empty when absent).</summary>
    public IReadOnlyList<string> Values(string name)
    {
        used.Add(name);
        return options.TryGetValue(name, out List<string>? values) ? values : [];
    }

    /// <summary>
    /// Reads option <paramref name="name"/> as a decimal integer in [<paramref name="minimum"/>, <paramref name="maximum"/>]
    /// into <paramref name="value"/> (left as is when the option is absent); an error line when it is not one.
    /// </summary>
    public string? Integer(string name, long minimum, long maximum, ref long value)
    {
        if (Option(name) is not { } text)
        {
            return null;
        }

        if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long parsed) || parsed < minimum || parsed > maximum)
        {
            return $"bad option or value: {name} {text} (expected {minimum} to {maximum})";
        }

        value = parsed;
        return null;
    }

    /// <summary>True when the flag is present.</summary>
    public bool Flag(string name) => Option(name) is not null;

    /// <summary>The first option given that no command asked for, or null.</summary>
    public string? UnknownOption() => options.Keys.FirstOrDefault(k => !used.Contains(k));

    private void Add(string name, string value)
    {
        if (!options.TryGetValue(name, out List<string>? values))
        {
            values = [];
            options.Add(name, values);
        }

        values.Add(value);
    }
}
