using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Sds.Rpc.Tests.Echo;
using Sds.Rpc.Tests.Support;

namespace Sds.Rpc.Tests;

/// <summary>
/// Proves that faults end calls with the right status and never hang: a server that dies mid-stream (Kestrel
/// aborted in process, and a python server process killed with SIGKILL), a client that cancels mid-stream,
/// oversize messages in each direction, garbage on the HTTP/2 port, unknown methods and throwing handlers.
/// Every wait is bounded by WaitAsync.
/// </summary>
public sealed class FaultTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(30);

    // A loopback port nothing listens on (bound by the kernel, then released).
    private static int ClosedPort()
    {
        var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public async Task Server_aborted_mid_stream_gives_unavailable_not_a_hang()
    {
        await using var fixture = await TestServer.StartAsync();
        using var call = fixture.Client.Bidi(deadline: Deadline());
        await call.RequestStream.WriteAsync(new EchoRequest { Text = "one" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Bound));

        await fixture.Server.KillAsync().WaitAsync(Bound);

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Bound));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact]
    public async Task Server_process_killed_mid_stream_gives_unavailable_not_a_hang()
    {
        using var python = PythonProcess.Start("server.py");
        var port = int.Parse(await python.FirstLineAsync(TimeSpan.FromSeconds(30)));
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new Echo.Echo.EchoClient(channel);
        using var call = client.Bidi(deadline: Deadline());
        await call.RequestStream.WriteAsync(new EchoRequest { Text = "one" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Bound));

        python.Dispose();

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Bound));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        var writeError = await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(new EchoRequest { Text = "two" }).WaitAsync(Bound));
        Assert.Equal(StatusCode.Unavailable, writeError.StatusCode);
    }

    [Fact]
    public async Task Call_to_a_closed_port_gives_unavailable()
    {
        var port = ClosedPort();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Echo.Echo.EchoClient(channel).UnaryAsync(new EchoRequest(), deadline: Deadline()).ResponseAsync.WaitAsync(Bound));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    /// <summary>
    /// More than the write pump's buffer written on a bidi call whose connection is refused: every write must end
    /// with UNAVAILABLE. Before the fix the pump waited for a request stream HTTP never opened, and a writer waiting
    /// for buffer space hung forever (issue #7: a gateway's stream to a SIGKILLed storage node wedged for good).
    /// </summary>
    [Fact]
    public async Task Writes_beyond_the_buffer_on_a_refused_connection_fail_instead_of_hanging()
    {
        var port = ClosedPort();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new Echo.Echo.EchoClient(channel);
        using var call = client.Bidi();
        _ = call.ResponseStream.MoveNext(CancellationToken.None).ContinueWith(static t => t.Exception, TaskScheduler.Default);
        string text = new('x', 256 * 1024);
        RpcException? error = null;
        for (int i = 0; i < 16 && error is null; i++)
        {
            try
            {
                await call.RequestStream.WriteAsync(new EchoRequest { Text = text }).WaitAsync(Bound);
            }
            catch (RpcException failed)
            {
                error = failed;
            }
        }

        Assert.NotNull(error);
        Assert.Equal(StatusCode.Unavailable, error!.StatusCode);
    }

    [Fact]
    public async Task Starting_on_a_taken_port_fails_cleanly()
    {
        await using var fixture = await TestServer.StartAsync();
        var second = new GrpcServer(new GrpcServerOptions { Endpoints = { $"127.0.0.1:{fixture.Server.Port}" } });
        await Assert.ThrowsAnyAsync<IOException>(() => second.StartAsync().WaitAsync(Bound));
        await second.DisposeAsync();
        Assert.Equal("ok", (await fixture.Client.UnaryAsync(new EchoRequest { Text = "ok" }, deadline: Deadline())).Text);
    }

    [Fact]
    public async Task Client_cancel_mid_stream_fires_the_handler_token()
    {
        await using var fixture = await TestServer.StartAsync();
        using var cancellation = new CancellationTokenSource();
        using var call = fixture.Client.Bidi(deadline: Deadline(), cancellationToken: cancellation.Token);
        await call.RequestStream.WriteAsync(new EchoRequest { Text = "one" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Bound));

        cancellation.Cancel();

        await fixture.Echo.HandlerCancelled.Task.WaitAsync(Bound);
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Bound));
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
    }

    [Fact]
    public async Task Client_dispose_mid_stream_fires_the_handler_token()
    {
        await using var fixture = await TestServer.StartAsync();
        var call = fixture.Client.Bidi(deadline: Deadline());
        await call.RequestStream.WriteAsync(new EchoRequest { Text = "one" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Bound));

        call.Dispose();

        await fixture.Echo.HandlerCancelled.Task.WaitAsync(Bound);
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Oversize_request_is_refused_by_the_server_with_resource_exhausted()
    {
        await using var fixture = await TestServer.StartAsync(options => options.MaxReceiveMessageSize = 64 * 1024);
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Client.UnaryAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[128 * 1024]) }, deadline: Deadline()).ResponseAsync.WaitAsync(Bound));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);

        // The connection is still good for normal calls.
        Assert.Equal("ok", (await fixture.Client.UnaryAsync(new EchoRequest { Text = "ok" }, deadline: Deadline())).Text);
    }

    [Fact]
    public async Task Oversize_stream_message_is_refused_by_the_server_with_resource_exhausted()
    {
        await using var fixture = await TestServer.StartAsync(options => options.MaxReceiveMessageSize = 64 * 1024);
        using var call = fixture.Client.Bidi(deadline: Deadline());
        await call.RequestStream.WriteAsync(new EchoRequest { Text = "small" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Bound));
        try
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[128 * 1024]) }).WaitAsync(Bound);
        }
        catch (RpcException)
        {
            // The server may already have ended the call; the status below is what matters.
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Bound));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task Oversize_response_is_refused_by_the_client_with_resource_exhausted()
    {
        await using var fixture = await TestServer.StartAsync(channelOptions: new GrpcChannelOptions { MaxReceiveMessageSize = 1024 });
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Client.UnaryAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[4096]) }, deadline: Deadline()).ResponseAsync.WaitAsync(Bound));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task Oversize_send_is_refused_locally_with_resource_exhausted()
    {
        await using var fixture = await TestServer.StartAsync(channelOptions: new GrpcChannelOptions { MaxSendMessageSize = 1024 });
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Client.UnaryAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[4096]) }, deadline: Deadline()).ResponseAsync.WaitAsync(Bound));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);

        using var call = fixture.Client.Bidi(deadline: Deadline());
        var streamError = await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[4096]) }).WaitAsync(Bound));
        Assert.Equal(StatusCode.ResourceExhausted, streamError.StatusCode);
    }

    public static TheoryData<string> GarbageKinds => new() { "random", "preface-then-garbage", "http1", "bad-frame-length" };

    [Theory]
    [MemberData(nameof(GarbageKinds))]
    public async Task Garbage_on_the_http2_port_does_not_take_the_server_down(string kind)
    {
        await using var fixture = await TestServer.StartAsync();
        var random = new Random(674386);
        var garbage = new byte[4096];
        random.NextBytes(garbage);
        var preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
        byte[] payload = kind switch
        {
            "random" => garbage,
            "preface-then-garbage" => [.. preface, .. garbage],
            "http1" => "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(),
            // A SETTINGS frame header that declares a 16 MiB payload, then a truncated body.
            _ => [.. preface, 0xFF, 0xFF, 0xFF, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 1, 2, 3],
        };

        for (var connection = 0; connection < 3; connection++)
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(System.Net.IPAddress.Loopback, fixture.Server.Port).WaitAsync(Bound);
            var stream = tcp.GetStream();
            await stream.WriteAsync(payload).AsTask().WaitAsync(Bound);
            // Drain whatever the server answers (GOAWAY, or nothing) until it closes; bounded by time.
            var sink = new byte[4096];
            using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            try
            {
                while (await stream.ReadAsync(sink, drain.Token) > 0)
                {
                }
            }
            catch (Exception exception) when (exception is OperationCanceledException or IOException)
            {
                // The server may keep a half-broken connection open until its own timeout, or reset it.
            }
        }

        Assert.Equal("still alive", (await fixture.Client.UnaryAsync(new EchoRequest { Text = "still alive" }, deadline: Deadline())).Text);
    }

    [Fact]
    public async Task Unknown_method_and_service_are_unimplemented()
    {
        await using var fixture = await TestServer.StartAsync();
        var bytes = new Marshaller<byte[]>(static b => b, static b => b);
        var invoker = fixture.Channel.CreateCallInvoker();
        foreach (var (service, name, detail) in new[] { ("sds.test.v1.Echo", "Nope", "Method is unimplemented."), ("no.such.Service", "Nope", "Service is unimplemented.") })
        {
            var method = new Method<byte[], byte[]>(MethodType.Unary, service, name, bytes, bytes);
            var error = await Assert.ThrowsAsync<RpcException>(async () => await invoker.AsyncUnaryCall(method, null, new CallOptions(deadline: Deadline()), []));
            Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
            Assert.Equal(detail, error.Status.Detail);
        }
    }

    [Fact]
    public async Task Handler_exception_is_internal_without_stack_trace()
    {
        await using var fixture = await TestServer.StartAsync();
        var error = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Client.UnaryAsync(new EchoRequest { ThrowException = true }, deadline: Deadline()));
        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Equal("Exception was thrown by handler.", error.Status.Detail);
        Assert.DoesNotContain("secret", error.Status.Detail);
    }

    [Fact]
    public async Task Streams_beyond_one_connections_limit_spill_to_more_connections()
    {
        await using var fixture = await TestServer.StartAsync(options => options.MaxConcurrentStreamsPerConnection = 100);
        var calls = Enumerable.Range(0, 150).Select(i => fixture.Client.Bidi(deadline: Deadline())).ToList();
        try
        {
            foreach (var call in calls)
            {
                await call.RequestStream.WriteAsync(new EchoRequest { Text = "x" }).WaitAsync(Bound);
            }

            foreach (var call in calls)
            {
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Bound));
            }
        }
        finally
        {
            foreach (var call in calls)
            {
                call.Dispose();
            }
        }
    }
}
