using System.Collections.Concurrent;
using System.Globalization;
using Sds.Rpc;

namespace Sds.Raft.Transport.Tests;

/// <summary>
/// Proves that Raft groups elect leaders and commit entries when their messages travel over real gRPC on
/// loopback: three nodes, many groups sharing one stream per node pair; and that a stopped peer makes sends
/// fail fast (dropped and reported) rather than block or queue without bound. Bounded in time.
/// </summary>
public sealed class RaftTransportTests
{
    private sealed class AddressBook : IRaftPeerAddressBook
    {
        public readonly ConcurrentDictionary<string, string> Addresses = new();

        public bool TryGetAddress(string nodeId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? address) => Addresses.TryGetValue(nodeId, out address);
    }

    [Fact]
    public async Task ManyGroupsElectAndCommitOverGrpc()
    {
        const int groupCount = 8;
        ulong[] voters = [1, 2, 3];
        var book = new AddressBook();
        var servers = new List<GrpcServer>();
        var hosts = new List<TransportGroupHost>();
        try
        {
            foreach (ulong member in voters)
            {
                string nodeId = member.ToString(CultureInfo.InvariantCulture);
                var host = new TransportGroupHost(member, Enumerable.Range(1, groupCount).Select(g => (ulong)g), voters, m => m.ToString(CultureInfo.InvariantCulture),
                    self => new RaftTransportClient(new RaftTransportOptions { LocalNodeId = nodeId }, book, self));
                var server = new GrpcServer(new GrpcServerOptions { Endpoints = { "127.0.0.1:0" } });
                server.AddService(Proto.V1.RaftTransport.BindService(new RaftTransportService(nodeId, host)));
                await server.StartAsync();
                book.Addresses[nodeId] = $"127.0.0.1:{server.Port}";
                servers.Add(server);
                hosts.Add(host);
            }

            // Every group gets a leader.
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (DateTime.UtcNow < deadline && !hosts.All(h => h.Locked(nodes => nodes.All(n => n.Leader != 0))))
            {
                await Task.Delay(20);
            }

            Assert.True(hosts.All(h => h.Locked(nodes => nodes.All(n => n.Leader != 0))), "every group elected a leader");

            // Propose one entry per group at its leader; every member applies all of them.
            for (int g = 0; g < groupCount; g++)
            {
                bool proposed = false;
                for (int attempt = 0; attempt < 100 && !proposed; attempt++)
                {
                    foreach (TransportGroupHost host in hosts)
                    {
                        proposed |= host.Locked(nodes => nodes[g].Role == RaftRole.Leader && nodes[g].Propose(new byte[] { (byte)g }).IsAccepted);
                    }

                    if (!proposed)
                    {
                        await Task.Delay(20);
                    }
                }

                Assert.True(proposed, $"group {g + 1} accepted a proposal");
            }

            deadline = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < deadline && hosts.Any(h => Interlocked.Read(ref h.Applied) < groupCount))
            {
                await Task.Delay(20);
            }

            Assert.All(hosts, h => Assert.Equal(groupCount, Interlocked.Read(ref h.Applied)));
            Assert.True(hosts[0].Client.Counters().Sent > 0);
        }
        finally
        {
            foreach (TransportGroupHost host in hosts)
            {
                await host.DisposeAsync();
            }

            foreach (GrpcServer server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }

    private sealed class CountingReporter : IRaftTransportReporter
    {
        public int Unreachable;

        public void ReportUnreachable(ulong groupId, ulong toMemberId) => Interlocked.Increment(ref Unreachable);

        public void ReportSnapshot(ulong groupId, ulong toMemberId, bool failed)
        {
        }
    }

    [Fact]
    public async Task SendsToADeadPeerAreDroppedAndReportedWithoutBlocking()
    {
        var book = new AddressBook();
        book.Addresses["9"] = "127.0.0.1:1"; // nothing listens on port 1
        var reporter = new CountingReporter();
        await using var client = new RaftTransportClient(new RaftTransportOptions { LocalNodeId = "1", PeerQueueCapacityMessages = 16 }, book, reporter);
        int accepted = 0;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline && Volatile.Read(ref reporter.Unreachable) == 0)
        {
            for (int i = 0; i < 100; i++)
            {
                accepted += client.Send("9", 1, 0, new Message { Type = MessageType.Heartbeat, To = 9, From = 1, Term = 1 }) ? 1 : 0;
            }

            await Task.Delay(10);
        }

        Assert.True(Volatile.Read(ref reporter.Unreachable) > 0, "drops were reported");
        Assert.True(client.Counters().Dropped > 0);
    }
}
