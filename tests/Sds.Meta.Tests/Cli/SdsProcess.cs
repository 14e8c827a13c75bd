using System.Diagnostics;

namespace Sds.Meta.Tests.Cli;

/// <summary>Runs the real <c>sds</c> executable (built by the project reference) as a child process.</summary>
internal static class SdsProcess
{
    /// <summary>Path of sds.dll: next to the tests when the SDK copied it with its runtimeconfig, else cli/bin.</summary>
    public static string DllPath
    {
        get
        {
            string local = Path.Combine(AppContext.BaseDirectory, "sds.dll");
            if (File.Exists(local) && File.Exists(Path.Combine(AppContext.BaseDirectory, "sds.runtimeconfig.json")))
            {
                return local;
            }

            // tests/Sds.Meta.Tests/bin/<Configuration>/net10.0/ → cli/bin/<Configuration>/net10.0/
            var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            string configuration = testBin.Parent!.Name;
            string repository = testBin.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
            return Path.Combine(repository, "cli", "bin", configuration, "net10.0", "sds.dll");
        }
    }

    /// <summary>Starts <c>sds args…</c>; output goes to <paramref name="logPath"/> when given.</summary>
    public static Process Start(IEnumerable<string> args, string? logPath = null)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(DllPath);
        foreach (string arg in args) info.ArgumentList.Add(arg);
        info.Environment.Remove("SDS_API");
        var process = Process.Start(info)!;
        if (logPath is not null)
        {
            var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
            var gate = new object();
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        return process;
    }

    /// <summary>Runs <c>sds args…</c> to completion (bounded by <paramref name="timeout"/>) and returns exit code and output.</summary>
    public static async Task<(int ExitCode, string StandardOutput, string StandardError)> RunAsync(TimeSpan timeout, params string[] args)
    {
        using Process process = Start(args);
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"sds {string.Join(' ', args)} did not finish in {timeout}");
        }

        return (process.ExitCode, await output, await error);
    }
}
