using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Sds.Storage.Tests.Replication;

/// <summary>
/// One real <c>sds</c> process (the cli's build output): <c>sds storage</c> by default, or <c>sds meta</c>;
/// killed with SIGKILL by its own handle. A storage node run with <c>--meta</c> logs every applied PG
/// configuration; the latest one per PG is kept in <see cref="Memberships"/>.
/// </summary>
internal sealed partial class StorageProcess : IDisposable
{
    private readonly Process process;
    private readonly TaskCompletionSource serving = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private StorageProcess(Process process)
    {
        this.process = process;
    }

    /// <summary>Latest applied Raft configuration of each PG replica on this node, from its log lines.</summary>
    public ConcurrentDictionary<uint, (ulong[] Voters, ulong[] Learners)> Memberships { get; } = new();

    /// <summary>Every applied Raft configuration this node logged, in order.</summary>
    public ConcurrentQueue<(uint Pg, ulong[] Voters, ulong[] Learners)> MembershipHistory { get; } = new();

    /// <summary>True while the process runs.</summary>
    public bool IsRunning => !process.HasExited;

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

    public static Task<StorageProcess> StartAsync(string arguments) => StartAsync("storage", arguments, "serving on");

    /// <summary>Starts <c>sds ROLE ARGUMENTS</c> and waits (bounded) until a stdout line contains <paramref name="readyMarker"/>.</summary>
    public static async Task<StorageProcess> StartAsync(string role, string arguments, string readyMarker, string? logPath = null)
    {
        var info = new ProcessStartInfo("dotnet", $"\"{SdsDll()}\" {role} {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["SDS_STORAGE_STATUS_MS"] = logPath is null ? "0" : "1000";
        StreamWriter? log = logPath is null ? null : new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = Process.Start(info)!;
        var started = new StorageProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (info)
            {
                log?.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {e.Data}");
            }

            if (e.Data.Contains(readyMarker, StringComparison.Ordinal))
            {
                started.serving.TrySetResult();
            }

            Match membership = MembershipLine().Match(e.Data);
            if (membership.Success)
            {
                uint pg = uint.Parse(membership.Groups[1].Value, CultureInfo.InvariantCulture);
                started.Memberships[pg] = (Ids(membership.Groups[2].Value), Ids(membership.Groups[3].Value));
                started.MembershipHistory.Enqueue((pg, started.Memberships[pg].Voters, started.Memberships[pg].Learners));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.WriteLine($"sds {role} stderr: " + e.Data);
                lock (info)
                {
                    log?.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} stderr {e.Data}");
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Task done = await Task.WhenAny(started.serving.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(done == started.serving.Task, $"sds {role} started ({arguments})");
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

    private static ulong[] Ids(string list) =>
        [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(static id => ulong.Parse(id, CultureInfo.InvariantCulture)).Order()];

    [GeneratedRegex(@"sds storage: pg (\d+) epoch \d+ voters \[([\d,]*)\] learners \[([\d,]*)\]")]
    private static partial Regex MembershipLine();
}
