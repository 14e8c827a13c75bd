using System.Diagnostics;

using Sds.Meta.Tests.Cli;
using Sds.Testing;

namespace Sds.Meta.Tests;

/// <summary>
/// Three real <c>sds meta</c> member processes on free loopback ports, each with its data directory and log under
/// one temporary root. Members are started (and restarted) on demand; every process this started is killed and
/// the root deleted on dispose.
/// </summary>
internal sealed class MetaProcesses : IDisposable
{
    private readonly Process?[] members = new Process?[4];
    private readonly string[] addresses = new string[4];

    public MetaProcesses(string name)
    {
        Root = Path.Combine(Path.GetTempPath(), name + "-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        for (int id = 1; id <= 3; id++) addresses[id] = $"127.0.0.1:{TestPorts.Free()}";
    }

    public string Root { get; }

    /// <summary>Member <paramref name="id"/>'s address (1–3).</summary>
    public string Address(int id) => addresses[id];

    /// <summary>Every member's address.</summary>
    public IEnumerable<string> Addresses => addresses.Skip(1);

    /// <summary>The running process of member <paramref name="id"/>, if started.</summary>
    public Process? Member(int id) => members[id];

    public string DataDirectory(int id) => Path.Combine(Root, $"data{id}");

    public string LogPath(int id) => Path.Combine(Root, $"log{id}.txt");

    /// <summary>Starts (or restarts) member <paramref name="id"/> with <paramref name="extraArguments"/>.</summary>
    public void Start(int id, params string[] extraArguments)
    {
        members[id]?.Dispose();
        string peers = string.Join(',', Enumerable.Range(1, 3).Select(i => $"{i}={addresses[i]}"));
        members[id] = SdsProcess.Start(
            ["meta", "--id", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--peers", peers, "--data", DataDirectory(id), .. extraArguments],
            LogPath(id));
    }

    public void Dispose()
    {
        foreach (Process? member in members) TestProcesses.Stop(member);
        TestProcesses.DeleteTree(Root);
    }

}
