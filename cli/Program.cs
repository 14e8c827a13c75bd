namespace Sds.Cli;

/// <summary>Entry point of the <c>sds</c> executable; the role and admin commands are parsed here.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("sds: no command yet");
        return args.Length == 0 ? 2 : 2;
    }
}
