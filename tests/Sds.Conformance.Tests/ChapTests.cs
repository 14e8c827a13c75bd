namespace Sds.Conformance.Tests;

/// <summary>
/// Proves CHAP with libiscsi against the real server started with --chap and --mutual-chap:
/// the right secret logs in, a wrong or missing one is refused at login, and mutual CHAP
/// (LIBISCSI_CHAP_TARGET_USERNAME/PASSWORD) authenticates the target too.
/// </summary>
public class ChapTests : IAsyncLifetime
{
    private const string User = "alice";
    private const string Secret = "s3cret-for-alice";
    private const string TargetUser = "demo-target";
    private const string TargetSecret = "s3cret-4-target"; // meta allows 12 to 16 bytes (RFC 7143 §12.1.3; initiators)
    private SdsServer _server = null!;

    public async Task InitializeAsync() => _server = await SdsServer.StartAsync(1, "--chap", $"{User}:{Secret}", "--mutual-chap", $"{TargetUser}:{TargetSecret}");

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<Tools.Result> Inquiry(string? credentials, Dictionary<string, string>? environment = null) =>
        Tools.RunAsync("iscsi-inq", [_server.DemoUrl(0, credentials)], TimeSpan.FromSeconds(60), environment);

    [ToolFact("iscsi-inq")]
    public async Task RightSecretLogsIn()
    {
        Tools.Result result = await Inquiry($"{User}%{Secret}");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("DIRECT_ACCESS", result.StandardOutput);
    }

    [ToolFact("iscsi-inq")]
    public async Task WrongSecretIsRefusedAtLogin()
    {
        Tools.Result result = await Inquiry($"{User}%not-the-secret");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Authentication failure", result.StandardOutput + result.StandardError);
    }

    [ToolFact("iscsi-inq")]
    public async Task MissingCredentialsAreRefusedAtLogin()
    {
        Tools.Result result = await Inquiry(null);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Authentication failure", result.StandardOutput + result.StandardError);
    }

    [ToolFact("iscsi-inq")]
    public async Task MutualChapAuthenticatesTheTarget()
    {
        Tools.Result result = await Inquiry($"{User}%{Secret}", new() { ["LIBISCSI_CHAP_TARGET_USERNAME"] = TargetUser, ["LIBISCSI_CHAP_TARGET_PASSWORD"] = TargetSecret });
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("DIRECT_ACCESS", result.StandardOutput);
    }

    [ToolFact("iscsi-inq")]
    public async Task MutualChapWithAWrongTargetSecretIsRefusedByTheInitiator()
    {
        Tools.Result result = await Inquiry($"{User}%{Secret}", new() { ["LIBISCSI_CHAP_TARGET_USERNAME"] = TargetUser, ["LIBISCSI_CHAP_TARGET_PASSWORD"] = "wrong" });
        Assert.NotEqual(0, result.ExitCode);
    }

    [ToolFact("qemu-img")]
    public async Task QemuThroughChapMovesData()
    {
        string directory = Path.Combine(Path.GetTempPath(), "sds-qemu-chap-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            string source = Path.Combine(directory, "source.raw");
            string back = Path.Combine(directory, "back.raw");
            byte[] data = new byte[4 * 1024 * 1024];
            new Random(1994).NextBytes(data);
            await File.WriteAllBytesAsync(source, data);
            string url = _server.DemoUrl(0, $"{User}%{Secret}");
            Assert.Equal(0, (await Tools.RunAsync("qemu-img", ["convert", "-n", "-f", "raw", "-O", "raw", source, url], TimeSpan.FromMinutes(2))).ExitCode);
            Assert.Equal(0, (await Tools.RunAsync("qemu-img", ["convert", "-f", "raw", "-O", "raw", url, back], TimeSpan.FromMinutes(2))).ExitCode);
            byte[] readBack = new byte[data.Length];
            await using (FileStream stream = File.OpenRead(back)) await stream.ReadExactlyAsync(readBack);
            Assert.Equal(data, readBack);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
