using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Sds.Testing;

namespace Sds.Conformance.Tests;

/// <summary>
/// The real <c>sds</c> executable started as a child process (<c>dotnet sds.dll server …</c>) on
/// free loopback ports in a temporary data directory; stopped with SIGTERM (then killed) on dispose.
/// </summary>
public sealed class SdsServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string _dataDirectory;
    private readonly bool _ownsData;

    private SdsServer(Process process, string dataDirectory, bool ownsData, int[] ports, string api)
    {
        _process = process;
        _dataDirectory = dataDirectory;
        _ownsData = ownsData;
        Ports = ports;
        Api = api;
    }

    /// <summary>The management API address (host:port).</summary>
    public string Api { get; }

    /// <summary>The portal ports, in --portal order.</summary>
    public int[] Ports { get; }

    /// <summary>First portal's port.</summary>
    public int Port => Ports[0];

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Everything the server printed so far.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Demo LUN URL for libiscsi tools.</summary>
    public string DemoUrl(int portIndex = 0, string? credentials = null) =>
        $"iscsi://{(credentials is null ? "" : credentials + "@")}127.0.0.1:{Ports[portIndex]}/iqn.2026-11.io.sds:demo/0";

    /// <summary>Path of the built sds.dll next to the tests, or in cli/bin.</summary>
    public static string SdsDll()
    {
        string local = Path.Combine(AppContext.BaseDirectory, "sds.dll");
        if (File.Exists(local) && File.Exists(Path.Combine(AppContext.BaseDirectory, "sds.runtimeconfig.json"))) return local;
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "SdsTarget.sln"))) directory = Path.GetDirectoryName(directory);
        if (directory is null) throw new FileNotFoundException("sds.dll not found; build cli/Sds.Cli.csproj");
        foreach (string configuration in new[] { "Debug", "Release" })
        {
            string candidate = Path.Combine(directory, "cli", "bin", configuration, "net10.0", "sds.dll");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("sds.dll not found; build cli/Sds.Cli.csproj");
    }

    /// <summary>Starts a demo server with <paramref name="portals"/> portals and extra arguments; waits until every portal accepts.</summary>
    public static Task<SdsServer> StartAsync(int portals = 1, params string[] extra) => StartAsync(null, portals, extra);

    /// <summary>As <see cref="StartAsync(int, string[])"/>, with extra environment variables for the process.</summary>
    public static Task<SdsServer> StartAsync(IReadOnlyDictionary<string, string>? environment, int portals, params string[] extra) =>
        StartInAsync(null, environment, portals, extra);

    /// <summary>
    /// As <see cref="StartAsync(int, string[])"/> on data directory <paramref name="dataDirectory"/>, which is kept on
    /// dispose (a restart test starts a second server on it); null makes a temporary one, deleted on dispose.
    /// </summary>
    public static async Task<SdsServer> StartInAsync(string? dataDirectory, IReadOnlyDictionary<string, string>? environment, int portals, params string[] extra)
    {
        string data = dataDirectory ?? Path.Combine(Path.GetTempPath(), "sds-conformance-" + Guid.NewGuid().ToString("N"));
        var ports = new int[portals];
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(SdsDll());
        info.ArgumentList.Add("server");
        info.ArgumentList.Add("--data");
        info.ArgumentList.Add(data);
        info.ArgumentList.Add("--demo");
        for (int i = 0; i < portals; i++)
        {
            ports[i] = TestPorts.Free();
            info.ArgumentList.Add("--portal");
            info.ArgumentList.Add($"127.0.0.1:{ports[i]}");
        }
        foreach (string argument in extra) info.ArgumentList.Add(argument);
        // A free port for the management API too, unless the caller chose one: the default (7070) is
        // shared by every sds server on the machine, and a second one exits at startup.
        string api = extra.Contains("--api") ? extra[Array.IndexOf(extra, "--api") + 1] : $"127.0.0.1:{TestPorts.Free()}";
        if (!extra.Contains("--api"))
        {
            info.ArgumentList.Add("--api");
            info.ArgumentList.Add(api);
        }
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        var process = Process.Start(info)!;
        var server = new SdsServer(process, data, dataDirectory is null, ports, api);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (server._output) server._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (server._output) server._output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (int port in ports)
        {
            while (true)
            {
                if (process.HasExited) throw new InvalidOperationException("sds exited at startup: " + server.Output);
                if (DateTime.UtcNow > deadline) throw new TimeoutException("sds did not start: " + server.Output);
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync("127.0.0.1", port);
                    break;
                }
                catch (SocketException)
                {
                    await Task.Delay(100);
                }
            }
        }
        return server;
    }

    /// <summary>
    /// Asks the server for its iSCSI state dump (SIGQUIT: every connection's window, StatSN and
    /// tasks in flight) and returns what it printed; for diagnosing a stalled initiator.
    /// </summary>
    public async Task<string> DumpStateAsync()
    {
        if (_process.HasExited) return "(server exited)";
        int before;
        lock (_output) before = _output.Length;
        Process.Start("kill", ["-QUIT", _process.Id.ToString()])!.WaitForExit(5000);
        await Task.Delay(TimeSpan.FromSeconds(1));
        lock (_output) return _output.ToString(before, _output.Length - before);
    }

    /// <summary>Stops with SIGTERM and returns the exit code (killing after 15 s).</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            Process.Start("kill", ["-TERM", _process.Id.ToString()])!.WaitForExit(5000);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        return _process.ExitCode;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
        if (!_ownsData) return;
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
