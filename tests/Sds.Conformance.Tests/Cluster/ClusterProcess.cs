using System.Diagnostics;
using System.Text;

namespace Sds.Conformance.Tests.Cluster;

/// <summary>
/// One real <c>sds</c> role process (storage, meta, gateway) started from the built sds.dll; stopped, paused
/// (SIGSTOP) and killed (SIGKILL) through its own PID only, never by name: other helpers run the same binary.
/// </summary>
public sealed class ClusterProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string readyText;

    private ClusterProcess(Process process, string readyText, string name)
    {
        this.process = process;
        this.readyText = readyText;
        Name = name;
    }

    /// <summary>Label for logs (e.g. "storage-2").</summary>
    public string Name { get; }

    /// <summary>The OS process id.</summary>
    public int Pid => process.Id;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => process.HasExited;

    /// <summary>Everything the process printed so far.</summary>
    public string Output
    {
        get { lock (output) return output.ToString(); }
    }

    /// <summary>Starts <c>sds ROLE arguments…</c> and waits (at most 60 s) until it prints <paramref name="readyText"/>.</summary>
    public static async Task<ClusterProcess> StartAsync(string name, string role, IEnumerable<string> arguments, string readyText)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(SdsServer.SdsDll());
        info.ArgumentList.Add(role);
        foreach (string argument in arguments) info.ArgumentList.Add(argument);
        var started = new ClusterProcess(Process.Start(info)!, readyText, name);
        started.process.OutputDataReceived += (_, e) => started.Absorb(e.Data);
        started.process.ErrorDataReceived += (_, e) => started.Absorb(e.Data);
        started.process.BeginOutputReadLine();
        started.process.BeginErrorReadLine();
        Task done = await Task.WhenAny(started.ready.Task, started.process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
        if (done != started.ready.Task)
        {
            string printed = started.Output;
            started.Dispose();
            Assert.Fail($"{name} did not become ready:\n{printed}");
        }

        return started;
    }

    /// <summary>Starts <c>sds storage</c> node <paramref name="id"/> of a static-placement cluster.</summary>
    public static Task<ClusterProcess> StartStorageAsync(ulong id, IReadOnlyDictionary<ulong, string> peers, string dataDirectory, int pgs, int replicas) =>
        StartAsync($"storage-{id}", "storage",
            ["--id", id.ToString(), "--listen", peers[id], "--data", dataDirectory, "--peers", PeerList(peers), "--pgs", pgs.ToString(), "--replicas", replicas.ToString(), "--tick-ms", "50"],
            "serving on");

    /// <summary>The <c>--peers</c> value: id=host:port,….</summary>
    public static string PeerList(IReadOnlyDictionary<ulong, string> peers) => string.Join(',', peers.Select(p => $"{p.Key}={p.Value}"));

    /// <summary>SIGSTOP: the process keeps its sockets open and answers nothing (a hung node).</summary>
    public void Pause() => Signal("STOP");

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => Signal("CONT");

    /// <summary>SIGKILL: no flush, no shutdown.</summary>
    public void KillHard()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: false);
            process.WaitForExit(10_000);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!process.HasExited)
        {
            Signal("CONT");
        }

        KillHard();
        process.Dispose();
    }

    private void Signal(string signal)
    {
        if (process.HasExited) return;
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {process.Id}") { UseShellExecute = false })!;
        kill.WaitForExit(5_000);
    }

    private void Absorb(string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
        if (line.Contains(readyText, StringComparison.Ordinal)) ready.TrySetResult();
    }
}
