using System.Diagnostics;
using Sds.Proto.V1;
using Sds.Storage.Client;
using Sds.Testing;

namespace Sds.Storage.Tests.Client;

/// <summary>The one-stream-per-node connection of the gateway's storage client under a dead node.</summary>
public sealed class StorageIoConnectionTests
{
    /// <summary>
    /// A node that refuses connections breaks every stream at once, so streams are opened and failed as fast as
    /// requests come. Every request must come back (null: unreachable) promptly — none may be dropped between a
    /// stream's failure and its replacement and wait out its caller's whole time budget. Before the fix, a request
    /// added while a broken stream's requests were being failed was cleared unanswered (ClusterFailoverTests saw a
    /// write hang 15 s and end ABORTED COMMAND after a storage node's kill -9).
    /// </summary>
    [Fact]
    public async Task EveryRequestToARefusingNodeComesBackPromptly()
    {
        await using var connection = new StorageIoConnection($"127.0.0.1:{TestPorts.Free()}", bearerToken: null);
        var clock = Stopwatch.StartNew();
        long requests = 0;
        long slowest = 0;
        async Task SenderAsync()
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(3))
            {
                using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                long started = clock.ElapsedMilliseconds;
                var request = new IoRequest { Flush = new FlushRequest { Target = new IoTarget { PgId = 1 } } };
                IoResponse? response = await connection.SendAsync(request, budget.Token);
                Assert.Null(response);
                long took = clock.ElapsedMilliseconds - started;
                InterlockedMax(ref slowest, took);
                Interlocked.Increment(ref requests);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(SenderAsync)));
        Assert.True(slowest < 5000, $"a request to a refusing node took {slowest} ms ({requests} requests)");
        Assert.True(requests > 100, $"only {requests} requests in 3 s");
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current;
        while (value > (current = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
