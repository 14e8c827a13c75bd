using Grpc.Core;
using Sds.Rpc.Tests.Echo;
using Sds.Rpc.Tests.Support;
using Xunit.Abstractions;

namespace Sds.Rpc.Tests;

/// <summary>Runs alone: allocation counters are process-wide, so no other test may run beside it.</summary>
[CollectionDefinition(nameof(SerialCollection), DisableParallelization = true)]
public sealed class SerialCollection
{
}

/// <summary>
/// Budgets, not timings (STYLE "Tests"): after warm-up, one bidi stream echoing small messages must stay under a
/// fixed number of bytes allocated per message, counting client and server in this process. The budget covers
/// the protobuf objects themselves (request and response on both sides); a regression that allocates per
/// message in the transport (a closure, LINQ, a buffer, an async box) breaks it.
/// </summary>
[Collection(nameof(SerialCollection))]
public sealed class AllocationBudgetTests(ITestOutputHelper output)
{
    /// <summary>
    /// Measured ≈ 850 bytes on .NET 10: ≈ 200 for the four protobuf messages and their strings, the rest for the
    /// Task a MoveNext must return when it has to wait (the IAsyncStreamReader contract is Task&lt;bool&gt;, so a
    /// wait cannot be pooled) and a write pump restarting after it drained. 1.5 KiB leaves room for batching luck.
    /// </summary>
    private const int BudgetBytesPerMessage = 1536;

    private const int WarmupMessages = 3_000;
    private const int MeasuredMessages = 10_000;

    [Fact]
    public async Task Bidi_stream_allocates_within_budget_per_message()
    {
        await using var fixture = await TestServer.StartAsync();
        using var call = fixture.Client.Bidi(deadline: DateTime.UtcNow.AddMinutes(2));
        var request = new EchoRequest { Text = "x" };
        await ExchangeAsync(call, request, WarmupMessages);

        var before = GC.GetTotalAllocatedBytes(precise: true);
        await ExchangeAsync(call, request, MeasuredMessages);
        var perMessage = (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)MeasuredMessages;

        output.WriteLine($"allocated {perMessage:F0} bytes per message (budget {BudgetBytesPerMessage})");
        Assert.True(perMessage < BudgetBytesPerMessage, $"allocated {perMessage:F0} bytes per message, budget {BudgetBytesPerMessage}");
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
    }

    private static async Task ExchangeAsync(AsyncDuplexStreamingCall<EchoRequest, EchoResponse> call, EchoRequest request, int count)
    {
        // Eight in flight, like a gateway with a queue: writes run ahead of reads by a bounded window.
        const int window = 8;
        var sent = 0;
        var received = 0;
        while (received < count)
        {
            while (sent < count && sent - received < window)
            {
                await call.RequestStream.WriteAsync(request);
                sent++;
            }

            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            received++;
        }
    }
}
