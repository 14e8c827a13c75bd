namespace Sds.Cli.Admin;

/// <summary>A command line that cannot be run; caught once in <see cref="AdminCommand"/> and reported with exit code 2.</summary>
internal sealed class UsageException : Exception
{
    /// <summary>Creates the exception with a one-line message.</summary>
    public UsageException(string message)
        : base(message)
    {
    }
}
