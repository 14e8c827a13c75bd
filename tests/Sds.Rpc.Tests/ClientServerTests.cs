using Google.Protobuf;
using Grpc.Core;
using Sds.Rpc.Tests.Echo;
using Sds.Rpc.Tests.Support;

namespace Sds.Rpc.Tests;

/// <summary>
/// Proves our client and our server agree on every call shape, on metadata, status and deadlines, by running the
/// generated Echo stubs against a real Kestrel server on a loopback port.
/// </summary>
public sealed class ClientServerTests
{
    private static DateTime Deadline(int seconds = 10) => DateTime.UtcNow.AddSeconds(seconds);

    [Fact]
    public async Task Unary_round_trip_echoes_text_and_payload()
    {
        await using var fixture = await TestServer.StartAsync();
        var payload = ByteString.CopyFrom(new byte[4096]);
        var response = await fixture.Client.UnaryAsync(new EchoRequest { Text = "hello", Payload = payload }, deadline: Deadline());
        Assert.Equal("hello", response.Text);
        Assert.Equal(4096, response.Payload.Length);
    }

    [Fact]
    public async Task Server_streaming_delivers_every_message_in_order()
    {
        await using var fixture = await TestServer.StartAsync();
        using var call = fixture.Client.ServerStream(new EchoRequest { Text = "s", Repeat = 50 }, deadline: Deadline());
        var indexes = new List<int>();
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            indexes.Add(message.Index);
        }

        Assert.Equal(Enumerable.Range(0, 50), indexes);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Client_streaming_joins_every_request()
    {
        await using var fixture = await TestServer.StartAsync();
        using var call = fixture.Client.ClientStream(deadline: Deadline());
        foreach (var text in new[] { "a", "b", "c" })
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Text = text });
        }

        await call.RequestStream.CompleteAsync();
        var response = await call;
        Assert.Equal("a,b,c", response.Text);
    }

    [Fact]
    public async Task Bidi_streaming_answers_each_request()
    {
        await using var fixture = await TestServer.StartAsync();
        using var call = fixture.Client.Bidi(deadline: Deadline());
        for (var i = 0; i < 100; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Text = "m" + i });
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal("m" + i, call.ResponseStream.Current.Text);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Metadata_flows_as_headers_and_trailers_including_binary()
    {
        await using var fixture = await TestServer.StartAsync();
        var headers = new Metadata { { "x-echo", "v1" }, { "x-data-bin", new byte[] { 0, 1, 2, 255 } } };
        using var call = fixture.Client.UnaryAsync(new EchoRequest { Text = "m" }, headers, Deadline());
        var responseHeaders = await call.ResponseHeadersAsync;
        await call;
        Assert.Equal("v1", responseHeaders.GetValue("x-echo-header"));
        var trailers = call.GetTrailers();
        Assert.Equal("v1", trailers.GetValue("x-echo-trailer"));
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, trailers.GetValueBytes("x-data-bin"));
    }

    [Fact]
    public async Task Error_status_and_non_ascii_message_pass_through()
    {
        await using var fixture = await TestServer.StartAsync();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Client.UnaryAsync(new EchoRequest { FailCode = (int)StatusCode.NotFound, FailMessage = "volume ünïcødé 100% gone\n" }, deadline: Deadline()));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("volume ünïcødé 100% gone\n", error.Status.Detail);
    }

    [Fact]
    public async Task Deadline_expiry_gives_deadline_exceeded_and_cancels_the_handler()
    {
        await using var fixture = await TestServer.StartAsync();
        // Warm the connection so the short deadline is spent in the handler, not in connection setup.
        await fixture.Client.UnaryAsync(new EchoRequest(), deadline: Deadline());
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Client.UnaryAsync(new EchoRequest { DelayMs = 10_000 }, deadline: DateTime.UtcNow.AddMilliseconds(500)));
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        await fixture.Echo.HandlerCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Deadline_already_past_fails_without_sending()
    {
        await using var fixture = await TestServer.StartAsync();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Client.UnaryAsync(new EchoRequest(), deadline: DateTime.UtcNow.AddSeconds(-1)));
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
    }

    [Fact]
    public async Task Sync_unary_form_works()
    {
        await using var fixture = await TestServer.StartAsync();
        var response = await Task.Run(() => fixture.Client.Unary(new EchoRequest { Text = "sync" }, deadline: Deadline()));
        Assert.Equal("sync", response.Text);
    }

    [Fact]
    public async Task Messages_near_the_size_limit_cross_many_http2_frames_intact()
    {
        await using var fixture = await TestServer.StartAsync();
        var bytes = new byte[3 * 1024 * 1024];
        new Random(674386).NextBytes(bytes);
        var payload = ByteString.CopyFrom(bytes);
        var response = await fixture.Client.UnaryAsync(new EchoRequest { Payload = payload }, deadline: Deadline(30));
        Assert.Equal(payload, response.Payload);

        using var call = fixture.Client.Bidi(deadline: Deadline(30));
        for (var i = 0; i < 3; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Payload = payload, Text = i.ToString() });
        }

        await call.RequestStream.CompleteAsync();
        var received = 0;
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            Assert.Equal(payload, message.Payload);
            received++;
        }

        Assert.Equal(3, received);
    }

    [Fact]
    public async Task Many_concurrent_calls_share_connections()
    {
        await using var fixture = await TestServer.StartAsync();
        var calls = Enumerable.Range(0, 300).Select(i => fixture.Client.UnaryAsync(new EchoRequest { Text = i.ToString() }, deadline: Deadline(20)).ResponseAsync);
        var responses = await Task.WhenAll(calls);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => i.ToString()), responses.Select(r => r.Text));
    }
}
