using System.Diagnostics;

namespace Sds.Storage.Tests.Replication;

/// <summary>
/// <c>sds storage</c> refuses option mixes that would split the source of placement: with <c>--meta</c>, placement
/// (PG count, replicas, peers) belongs to meta, and the registered address must be a real port. Each refusal is
/// exit 2 with one line on stderr, before anything is opened.
/// </summary>
public sealed class StorageCommandLineTests
{
    [Theory]
    [InlineData("--meta 127.0.0.1:1 --peers 1=127.0.0.1:7101", "--peers, --pgs and --replicas")]
    [InlineData("--meta 127.0.0.1:1 --pgs 16", "--peers, --pgs and --replicas")]
    [InlineData("--meta 127.0.0.1:1 --replicas 3", "--peers, --pgs and --replicas")]
    public async Task MetaModeRefusesStaticPlacementOptions(string extra, string expected)
    {
        (int exit, string stderr) = await RunAsync($"--id 1 --listen 127.0.0.1:7101 --data /nonexistent/sds {extra}");
        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', stderr.TrimEnd('\n'));
    }

    [Fact]
    public async Task MetaModeNeedsAFixedListenPort()
    {
        (int exit, string stderr) = await RunAsync("--id 1 --listen 127.0.0.1:0 --data /nonexistent/sds --meta 127.0.0.1:1");
        Assert.Equal(2, exit);
        Assert.Contains("fixed HOST:PORT", stderr, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Stderr)> RunAsync(string arguments)
    {
        var info = new ProcessStartInfo("dotnet", $"\"{StorageProcess.SdsDll()}\" storage {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process process = Process.Start(info)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        await stdout;
        return (process.ExitCode, await stderr);
    }
}
