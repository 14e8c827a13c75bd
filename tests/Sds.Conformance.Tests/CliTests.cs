using System.Net;
using System.Net.Sockets;
using Sds.Testing;

namespace Sds.Conformance.Tests;

/// <summary>
/// Proves the <c>sds</c> executable's contract with its user, on the real process: help, one
/// clear line and exit 2 on bad arguments (server, gateway and storage roles share one parser), one clear line and exit 1 on a busy portal, and a
/// clean exit 0 on SIGTERM.
/// </summary>
public class CliTests
{
    private static Task<Tools.Result> Sds(params string[] arguments) =>
        Tools.RunAsync("dotnet", [SdsServer.SdsDll(), .. arguments], TimeSpan.FromSeconds(60));

    [ToolFact("dotnet")]
    public async Task HelpExitsZero()
    {
        Tools.Result result = await Sds("--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("sds server --data DIR", result.StandardOutput);
    }

    [ToolTheory("dotnet")]
    [InlineData(new string[] { }, "missing command")]
    [InlineData(new[] { "frobnicate" }, "unknown command")]
    [InlineData(new[] { "server" }, "--data DIR is required")]
    [InlineData(new[] { "server", "--data" }, "--data needs a value")]
    [InlineData(new[] { "server", "--data", "/tmp/x", "--portal", "nonsense" }, "expected HOST:PORT")]
    [InlineData(new[] { "server", "--data", "/tmp/x", "--portal", "127.0.0.1:70000" }, "expected HOST:PORT")]
    [InlineData(new[] { "server", "--data", "/tmp/x", "--demo", "--chap", "nocolon" }, "expected USER:SECRET")]
    [InlineData(new[] { "server", "--data", "/tmp/x", "--demo", "--mutual-chap", "a:b" }, "--mutual-chap needs --chap")]
    [InlineData(new[] { "server", "--data", "/tmp/x", "--bogus" }, "unknown option")]
    [InlineData(new[] { "server", "--data", "/tmp/x", "--demo", "--chap", "alice:short" }, "CHAP secret is 5 bytes")]
    [InlineData(new[] { "server", "--data", "--demo" }, "--data needs a value")]
    [InlineData(new[] { "server", "--data", "/tmp/x", "stray" }, "unexpected argument 'stray'")]
    [InlineData(new[] { "gateway", "--id" }, "--id needs a value")]
    [InlineData(new[] { "gateway", "--id", "g1" }, "--id, --meta and --portal are required")]
    [InlineData(new[] { "gateway", "--id", "g1", "--meta", "127.0.0.1:1", "--portal", "127.0.0.1:3260", "--bogus", "1" }, "unknown option '--bogus'")]
    [InlineData(new[] { "gateway", "--id", "g1", "--meta", "127.0.0.1:1", "--portal", "127.0.0.1:3260", "--io-timeout-ms", "5" }, "--io-timeout-ms 5")]
    [InlineData(new[] { "gateway", "--id", "g1", "--meta", "127.0.0.1:1", "--portal", "nonsense" }, "expected HOST:PORT")]
    [InlineData(new[] { "storage", "--id", "0", "--listen", "127.0.0.1:1", "--data", "/tmp/x" }, "bad option or value: --id 0")]
    [InlineData(new[] { "storage", "--id", "1" }, "--id, --listen and --data are required")]
    [InlineData(new[] { "storage", "--id", "1", "--listen", "127.0.0.1:1", "--data", "/tmp/x", "--block-size", "1024" }, "expected 512 or 4096")]
    [InlineData(new[] { "storage", "--id", "1", "--listen", "127.0.0.1:1", "--data", "/tmp/x", "--store", "tape" }, "--store tape")]
    [InlineData(new[] { "storage", "--id", "1", "--listen", "127.0.0.1:1", "--data", "/tmp/x", "--meta", "127.0.0.1:2", "--pgs", "8" }, "static placement only")]
    public async Task BadArgumentsExitTwoWithOneLine(string[] arguments, string message)
    {
        Tools.Result result = await Sds(arguments);
        Assert.Equal(2, result.ExitCode);
        string[] lines = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(message, lines[0]);
    }

    [ToolFact("dotnet")]
    public async Task BusyPortExitsOneWithOneLine()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        int port = ((IPEndPoint)squatter.LocalEndpoint).Port;
        string data = Path.Combine(Path.GetTempPath(), "sds-busy-" + Guid.NewGuid().ToString("N"));
        try
        {
            Tools.Result result = await Sds("server", "--data", data, "--demo", "--portal", $"127.0.0.1:{TestPorts.Free()}", "--portal", $"127.0.0.1:{port}");
            Assert.Equal(1, result.ExitCode);
            string[] lines = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.Contains($"127.0.0.1:{port} is already in use", lines[0]);
            Assert.Equal("", result.StandardOutput.Trim());
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [ToolFact("dotnet")]
    public async Task SigtermStopsCleanly()
    {
        await using SdsServer server = await SdsServer.StartAsync(1, "--api", "127.0.0.1:1");
        Assert.Equal(0, await server.StopAsync());
        Assert.Contains("stopped", server.Output);
    }
}
