using System.Net;
using System.Net.Sockets;

namespace Sds.Conformance.Tests;

/// <summary>
/// Proves the <c>sds</c> executable's contract with its user, on the real process: help, one
/// clear line and exit 2 on bad arguments, one clear line and exit 1 on a busy portal, and a
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
            Tools.Result result = await Sds("server", "--data", data, "--demo", "--portal", $"127.0.0.1:{Tools.FreePort()}", "--portal", $"127.0.0.1:{port}");
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
