using System.Diagnostics;

namespace Sds.Storage.Tests.Replication;

/// <summary>One real <c>sds storage</c> process (the cli's build output), killed with SIGKILL by its own handle.</summary>
internal sealed class StorageProcess : IDisposable
{
    private readonly Process process;
    private readonly TaskCompletionSource serving = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private StorageProcess(Process process)
    {
        this.process = process;
    }

    public static string SdsDll()
    {
        string directory = AppContext.BaseDirectory;
        string configuration = directory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        string? root = directory;
        while (root is not null && !File.Exists(Path.Combine(root, "SdsTarget.sln")))
        {
            root = Path.GetDirectoryName(root);
        }

        Assert.NotNull(root);
        string dll = Path.Combine(root!, "cli", "bin", configuration, "net10.0", "sds.dll");
        Assert.True(File.Exists(dll), $"{dll} was built");
        return dll;
    }

    public static async Task<StorageProcess> StartAsync(string arguments)
    {
        var info = new ProcessStartInfo("dotnet", $"\"{SdsDll()}\" storage {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(info)!;
        var started = new StorageProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("serving on", StringComparison.Ordinal) == true)
            {
                started.serving.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.WriteLine("sds storage stderr: " + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Task done = await Task.WhenAny(started.serving.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(done == started.serving.Task, "sds storage started serving");
        return started;
    }

    /// <summary>SIGKILL: no flush, no shutdown; whatever was not synced is lost.</summary>
    public void KillHard()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: false);
            process.WaitForExit(10_000);
        }
    }

    public void Dispose()
    {
        KillHard();
        process.Dispose();
    }
}
