using System.Diagnostics;
using Sds.Testing;

namespace Sds.Conformance.Tests;

/// <summary>Finding and running external tools with a time bound.</summary>
public static class Tools
{
    /// <summary>Absolute path of <paramref name="tool"/> on PATH, or null.</summary>
    public static string? Find(string tool)
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            if (directory.Length == 0) continue;
            string candidate = Path.Combine(directory, tool);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Debian package that ships <paramref name="tool"/>.</summary>
    public static string PackageOf(string tool) => tool switch
    {
        "qemu-img" => "qemu-utils qemu-block-extra",
        "dotnet" => "dotnet-sdk",
        _ => "libiscsi-bin",
    };

    /// <summary>Result of a tool run.</summary>
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError, bool TimedOut);

    /// <summary>Runs a tool to completion or until <paramref name="timeout"/>, then kills it.</summary>
    public static async Task<Result> RunAsync(string tool, IEnumerable<string> arguments, TimeSpan timeout, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(Find(tool) ?? tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) info.ArgumentList.Add(argument);
        if (environment is not null) foreach (KeyValuePair<string, string> pair in environment) info.Environment[pair.Key] = pair.Value;
        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        bool timedOut = false;
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        return new Result(process.ExitCode, await stdout, await stderr, timedOut);
    }
}
