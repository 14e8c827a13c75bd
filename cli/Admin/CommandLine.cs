namespace Sds.Cli.Admin;

/// <summary>
/// A parsed admin command line: positional words and <c>--name value</c> options (flags take no value).
/// Options may appear anywhere; unknown ones are a usage error.
/// </summary>
internal sealed class CommandLine
{
    private static readonly HashSet<string> Flags = ["--json", "--force", "--thick", "--help", "-h"];
    private readonly Dictionary<string, string> options = new(StringComparer.Ordinal);
    private readonly HashSet<string> used = new(StringComparer.Ordinal);

    private CommandLine(List<string> positional) => Positional = positional;

    /// <summary>Words that are not options, in order.</summary>
    public List<string> Positional { get; }

    /// <summary>Splits <paramref name="args"/>; null with <paramref name="error"/> when an option lacks its value.</summary>
    public static CommandLine? Parse(ReadOnlySpan<string> args, out string? error)
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
            if (equals > 0)
            {
                line.options[arg[..equals]] = arg[(equals + 1)..];
            }
            else if (Flags.Contains(arg))
            {
                line.options[arg] = "true";
            }
            else if (i + 1 < args.Length)
            {
                line.options[arg] = args[++i];
            }
            else
            {
                error = $"option {arg} needs a value";
                return null;
            }
        }

        return line;
    }

    /// <summary>The value of <paramref name="name"/>, or null.</summary>
    public string? Option(string name)
    {
        used.Add(name);
        return options.GetValueOrDefault(name);
    }

    /// <summary>True when the flag is present.</summary>
    public bool Flag(string name) => Option(name) is not null;

    /// <summary>The first option given that no command asked for, or null.</summary>
    public string? UnknownOption() => options.Keys.FirstOrDefault(k => !used.Contains(k));
}
