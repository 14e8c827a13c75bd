namespace Sds.Conformance.Tests.Cluster;

/// <summary>
/// A cluster started by deploy/local/up.sh (3 meta, 3 storage, 2 gateways) in a temporary state directory, with
/// the three addresses it printed and the PIDs it wrote; <see cref="DisposeAsync"/> runs down.sh.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private LocalCluster(string root, string state, string[] lines)
    {
        Root = root;
        State = state;
        Urls = [lines[0], lines[1]];
        Api = lines[2];
    }

    /// <summary>The repository root (deploy/local lives there).</summary>
    public string Root { get; }

    /// <summary>STATE_DIR.</summary>
    public string State { get; }

    /// <summary>The demo LUN's URL through gateway 1 and gateway 2.</summary>
    public string[] Urls { get; }

    /// <summary>The management API address.</summary>
    public string Api { get; }

    /// <summary>The iSCSI port of gateway <paramref name="index"/> (0 or 1).</summary>
    public int Port(int index) => new Uri(Urls[index]).Port;

    /// <summary>The PID up.sh wrote for ROLE-ID.</summary>
    public int Pid(string roleAndId) => int.Parse(File.ReadAllText(Path.Combine(State, roleAndId + ".pid")).Trim());

    /// <summary>
    /// Runs up.sh; fails the test with its output when it does not succeed. Every process of the cluster inherits
    /// <paramref name="extraEnvironment"/> (e.g. the OTLP endpoint).
    /// </summary>
    public static async Task<LocalCluster> StartAsync(IReadOnlyDictionary<string, string>? extraEnvironment = null)
    {
        string root = RepositoryRoot();
        string state = Path.Combine(Path.GetTempPath(), "sds-local-" + Guid.NewGuid().ToString("N"));
        var environment = new Dictionary<string, string> { ["SDS_DLL"] = SdsServer.SdsDll(), ["SDS_UP_TIMEOUT"] = "240" };
        foreach ((string name, string value) in extraEnvironment ?? new Dictionary<string, string>()) environment[name] = value;
        Tools.Result up = await Tools.RunAsync("bash", [Path.Combine(root, "deploy/local/up.sh"), state], TimeSpan.FromMinutes(5), environment);
        string[] lines = up.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (up.ExitCode != 0 || lines.Length != 3)
        {
            await Tools.RunAsync("bash", [Path.Combine(root, "deploy/local/down.sh"), state], TimeSpan.FromMinutes(1));
            Assert.Fail($"up.sh failed ({up.ExitCode}):\n{up.StandardOutput}\n{up.StandardError}");
        }

        return new LocalCluster(root, state, lines);
    }

    /// <summary>The directory holding SdsTarget.sln above the test binaries.</summary>
    public static string RepositoryRoot()
    {
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "SdsTarget.sln"))) directory = Path.GetDirectoryName(directory);
        Assert.NotNull(directory);
        return directory!;
    }

    /// <summary>Runs an admin command against this cluster (`sds ARGS --api API`).</summary>
    public Task<Tools.Result> AdminAsync(params string[] arguments) =>
        Tools.RunAsync("dotnet", [SdsServer.SdsDll(), .. arguments, "--api", Api, "--timeout", "30"], TimeSpan.FromMinutes(1));

    /// <summary>Runs down.sh (idempotent: a second run finds no PID files).</summary>
    public Task<Tools.Result> StopAsync() => Tools.RunAsync("bash", [Path.Combine(Root, "deploy/local/down.sh"), State], TimeSpan.FromMinutes(1));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        // SDS_TEST_LOG_DIR keeps every process's log (and SIGQUIT dumps in it) for diagnosis.
        string? keep = Environment.GetEnvironmentVariable("SDS_TEST_LOG_DIR");
        if (!string.IsNullOrEmpty(keep))
        {
            string target = Path.Combine(keep, Path.GetFileName(State));
            Directory.CreateDirectory(target);
            foreach (string log in Directory.GetFiles(State, "*.log")) File.Copy(log, Path.Combine(target, Path.GetFileName(log)), overwrite: true);
        }

        try
        {
            Directory.Delete(State, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
