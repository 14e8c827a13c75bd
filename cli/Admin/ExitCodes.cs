namespace Sds.Cli.Admin;

/// <summary>Exit status of the admin commands; scripts depend on these numbers, so they never change.</summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>The server refused: invalid argument, not found, already exists, failed precondition, aborted, exhausted.</summary>
    public const int Refused = 1;

    /// <summary>Bad command line (nothing was sent).</summary>
    public const int Usage = 2;

    /// <summary>No meta member answered, or none knew a leader, within the timeout.</summary>
    public const int Unreachable = 3;

    /// <summary>The server failed (INTERNAL, UNKNOWN, …): a bug or an I/O error on its side.</summary>
    public const int ServerError = 4;
}
