using System.Diagnostics;

namespace Sds.Testing;

/// <summary>Clean-up of what a test started: its own processes (by the handle it holds) and its temporary tree.</summary>
public static class TestProcesses
{
    /// <summary>Kills <paramref name="process"/> (this test's own child) if it still runs, waits for it, disposes it.</summary>
    public static void Stop(Process? process)
    {
        if (process is null) return;
        try
        {
            if (!process.HasExited) process.Kill();
            process.WaitForExit(5_000);
        }
        catch (InvalidOperationException)
        {
            // Never started, or already reaped.
        }

        process.Dispose();
    }

    /// <summary>Deletes a temporary tree; one still held open (a process just killed) is left for the OS.</summary>
    public static void DeleteTree(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
