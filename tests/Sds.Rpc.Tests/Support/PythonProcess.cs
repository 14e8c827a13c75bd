using System.Diagnostics;
using System.Text;

namespace Sds.Rpc.Tests.Support;

/// <summary>
/// Runs one interop script under Debian's /usr/bin/python3 (which has python3-grpcio), captures its output,
/// and kills it by its own PID on dispose, so no test leaves a process behind.
/// </summary>
internal sealed class PythonProcess : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly StringBuilder errors = new();
    private readonly TaskCompletionSource<string> firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private PythonProcess(string script, string arguments)
    {
        var scriptPath = Path.Combine(AppContext.BaseDirectory, "interop", script);
        var start = new ProcessStartInfo(Python, $"\"{scriptPath}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(scriptPath)!,
        };
        start.Environment["PYTHONUNBUFFERED"] = "1";
        process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                firstLine.TrySetException(new InvalidOperationException("python exited before printing: " + Errors));
                return;
            }

            lock (output)
            {
                output.AppendLine(e.Data);
            }

            firstLine.TrySetResult(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (errors)
                {
                    errors.AppendLine(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public string Errors
    {
        get
        {
            lock (errors)
            {
                return errors.ToString();
            }
        }
    }

    public static bool Available => File.Exists(Python);

    public static PythonProcess Start(string script, string arguments = "") => new(script, arguments);

    public Task<string> FirstLineAsync(TimeSpan timeout) => firstLine.Task.WaitAsync(timeout);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cancellation.Token);
        return process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        process.Dispose();
    }
}
