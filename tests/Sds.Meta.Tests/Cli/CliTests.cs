using System.Text.Json;
using Sds.Meta.Tests.Api;

namespace Sds.Meta.Tests.Cli;

/// <summary>
/// Runs the real <c>sds</c> process against a real one-member meta: exit codes mean what the usage text
/// says (0 ok, 1 refused, 2 usage, 3 unreachable), errors are one line on stderr starting "sds: ", --json
/// is machine-readable, and a refused command leaves the cluster map unchanged.
/// </summary>
public sealed class CliTests : IClassFixture<SingleMemberFixture>
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private readonly SingleMemberFixture fixture;

    public CliTests(SingleMemberFixture fixture) => this.fixture = fixture;

    [Theory]
    [InlineData(1, "volume", "create", "Bad_Name!", "--size", "1GiB")]
    [InlineData(1, "volume", "create", "db1", "--size", "1GiB")]
    [InlineData(1, "volume", "create", "odd", "--size", "1000")]
    [InlineData(1, "volume", "create", "zero", "--size", "0")]
    [InlineData(1, "volume", "resize", "db1", "--size", "1MiB")]
    [InlineData(1, "volume", "delete", "db1")]
    [InlineData(1, "volume", "show", "nope")]
    [InlineData(1, "target", "create", "not-an-iqn")]
    [InlineData(1, "target", "create", SingleMemberFixture.TargetIqn)]
    [InlineData(1, "lun", "map", SingleMemberFixture.TargetIqn, "3", "nope")]
    [InlineData(1, "chap", "set", SingleMemberFixture.TargetIqn, "--user", "u", "--secret", "short")]
    [InlineData(1, "acl", "add", SingleMemberFixture.TargetIqn, "bad")]
    [InlineData(2, "volume", "create", "x")]
    [InlineData(2, "volume", "create", "x", "--size", "ten")]
    [InlineData(2, "volume", "frobnicate")]
    [InlineData(2, "lun", "map", SingleMemberFixture.TargetIqn, "minus-one", "db1")]
    [InlineData(2, "volume", "list", "--bogus", "1")]
    public async Task RefusalsAndUsageErrorsExitWithTheirCodeAndOneLine(int expectedExit, params string[] args)
    {
        var before = await fixture.MapAsync();
        (int exit, string stdout, string stderr) = await SdsProcess.RunAsync(CommandTimeout, [.. args, "--api", fixture.Address]);
        Assert.Equal(expectedExit, exit);
        Assert.Empty(stdout);
        string line = stderr.TrimEnd('\n');
        Assert.StartsWith("sds: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);
        var after = await fixture.MapAsync();
        before.MetaLeaderNodeId = after.MetaLeaderNodeId;
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task UnreachableApiExitsWithThree()
    {
        (int exit, _, string stderr) = await SdsProcess.RunAsync(CommandTimeout, "status", "--api", "127.0.0.1:1", "--timeout", "2");
        Assert.Equal(3, exit);
        Assert.StartsWith("sds: no meta leader reachable", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateShowListResizeDeleteWithJson()
    {
        (int exit, string stdout, _) = await SdsProcess.RunAsync(CommandTimeout, "volume", "create", "cli-vol", "--size", "512MiB", "--block-size", "4096", "--json", "--api", fixture.Address);
        Assert.Equal(0, exit);
        using (JsonDocument created = JsonDocument.Parse(stdout))
        {
            Assert.Equal("cli-vol", created.RootElement.GetProperty("name").GetString());
            Assert.Equal("536870912", created.RootElement.GetProperty("sizeBytes").GetString());
            Assert.Equal(4096, created.RootElement.GetProperty("logicalBlockSizeBytes").GetInt32());
        }

        (exit, stdout, _) = await SdsProcess.RunAsync(CommandTimeout, "volume", "list", "--api", fixture.Address);
        Assert.Equal(0, exit);
        Assert.Contains("cli-vol", stdout, StringComparison.Ordinal);
        Assert.StartsWith("NAME", stdout, StringComparison.Ordinal);
        (exit, stdout, _) = await SdsProcess.RunAsync(CommandTimeout, "volume", "resize", "cli-vol", "--size", "1GiB", "--api", fixture.Address);
        Assert.Equal(0, exit);
        Assert.Contains("1GiB", stdout, StringComparison.Ordinal);
        (exit, _, _) = await SdsProcess.RunAsync(CommandTimeout, "lun", "map", SingleMemberFixture.TargetIqn, "5", "cli-vol", "--api", fixture.Address);
        Assert.Equal(0, exit);
        (exit, _, _) = await SdsProcess.RunAsync(CommandTimeout, "lun", "unmap", SingleMemberFixture.TargetIqn, "5", "--api", fixture.Address);
        Assert.Equal(0, exit);
        (exit, _, _) = await SdsProcess.RunAsync(CommandTimeout, "volume", "delete", "cli-vol", "--api", fixture.Address);
        Assert.Equal(0, exit);
        (exit, stdout, _) = await SdsProcess.RunAsync(CommandTimeout, "status", "--json", "--api", fixture.Address);
        Assert.Equal(0, exit);
        using JsonDocument status = JsonDocument.Parse(stdout);
        Assert.Equal("meta-1", status.RootElement.GetProperty("metaLeaderNodeId").GetString());
    }

    /// <summary>
    /// <c>target create --removable</c> records the attribute in meta (every gateway reads RMB from there), <c>target
    /// show</c> prints it, and a target created without the flag is not removable.
    /// </summary>
    [Fact]
    public async Task TargetCreateRemovableIsRecordedAndShown()
    {
        const string removable = "iqn.2026-11.io.sds:cli-removable";
        const string fixedMedium = "iqn.2026-11.io.sds:cli-fixed";
        (int exit, string stdout, _) = await SdsProcess.RunAsync(CommandTimeout, "target", "create", removable, "--alias", "r", "--removable", "--json", "--api", fixture.Address);
        Assert.Equal(0, exit);
        using (JsonDocument created = JsonDocument.Parse(stdout))
        {
            Assert.True(created.RootElement.GetProperty("removable").GetBoolean());
        }

        (exit, _, _) = await SdsProcess.RunAsync(CommandTimeout, "target", "create", fixedMedium, "--api", fixture.Address);
        Assert.Equal(0, exit);
        (exit, stdout, _) = await SdsProcess.RunAsync(CommandTimeout, "target", "show", removable, "--api", fixture.Address);
        Assert.Equal(0, exit);
        Assert.Matches(@"(?m)^removable:\s+yes$", stdout);
        (exit, stdout, _) = await SdsProcess.RunAsync(CommandTimeout, "target", "show", fixedMedium, "--api", fixture.Address);
        Assert.Equal(0, exit);
        Assert.Matches(@"(?m)^removable:\s+no$", stdout);
        var map = await fixture.MapAsync();
        Assert.True(map.Targets.Single(t => t.Iqn == removable).Removable);
        Assert.False(map.Targets.Single(t => t.Iqn == fixedMedium).Removable);
        (exit, _, _) = await SdsProcess.RunAsync(CommandTimeout, "target", "delete", removable, "--api", fixture.Address);
        Assert.Equal(0, exit);
        (exit, _, _) = await SdsProcess.RunAsync(CommandTimeout, "target", "delete", fixedMedium, "--api", fixture.Address);
        Assert.Equal(0, exit);
    }
}
