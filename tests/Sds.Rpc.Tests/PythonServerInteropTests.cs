using Grpc.Core;
using Sds.Rpc.Tests.Echo;
using Sds.Rpc.Tests.Support;

namespace Sds.Rpc.Tests;

/// <summary>
/// Interop, our client → real peer: the generated Echo stubs over our channel call a python3-grpcio server
/// (interop/server.py, generic handlers over raw bytes). One python server is shared by the class.
/// </summary>
public sealed class PythonServerInteropTests : IClassFixture<PythonServerInteropTests.PythonServer>
{
    private readonly PythonServer python;

    public PythonServerInteropTests(PythonServer python) => this.python = python;

    private Echo.Echo.EchoClient Client => new(python.Channel);

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(10);

    [Fact]
    public async Task Unary()
    {
        var response = await Client.UnaryAsync(new EchoRequest { Text = "hello", Payload = Google.Protobuf.ByteString.CopyFrom(new byte[4096]) }, deadline: Deadline());
        Assert.Equal("hello", response.Text);
        Assert.Equal(4096, response.Payload.Length);
    }

    [Fact]
    public async Task Server_streaming()
    {
        using var call = Client.ServerStream(new EchoRequest { Text = "s", Repeat = 7 }, deadline: Deadline());
        var indexes = new List<int>();
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            indexes.Add(message.Index);
        }

        Assert.Equal(Enumerable.Range(0, 7), indexes);
    }

    [Fact]
    public async Task Client_streaming()
    {
        using var call = Client.ClientStream(deadline: Deadline());
        foreach (var text in new[] { "a", "b", "c" })
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Text = text });
        }

        await call.RequestStream.CompleteAsync();
        Assert.Equal("a,b,c", (await call).Text);
    }

    [Fact]
    public async Task Bidi_streaming()
    {
        using var call = Client.Bidi(deadline: Deadline());
        for (var i = 0; i < 20; i++)
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
    public async Task Metadata_headers_and_trailers()
    {
        var headers = new Metadata { { "x-echo", "v1" }, { "x-data-bin", new byte[] { 0, 1, 255 } } };
        using var call = Client.UnaryAsync(new EchoRequest { Text = "m" }, headers, Deadline());
        var responseHeaders = await call.ResponseHeadersAsync;
        await call;
        Assert.Equal("v1", responseHeaders.GetValue("x-echo-header"));
        Assert.Equal("v1", call.GetTrailers().GetValue("x-echo-trailer"));
        Assert.Equal(new byte[] { 0, 1, 255 }, call.GetTrailers().GetValueBytes("x-data-bin"));
    }

    [Fact]
    public async Task Error_status_with_message()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await Client.UnaryAsync(new EchoRequest { FailCode = (int)StatusCode.FailedPrecondition, FailMessage = "pg 7 stale épöch 50%" }, deadline: Deadline()));
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("pg 7 stale épöch 50%", error.Status.Detail);
    }

    [Fact]
    public async Task Deadline_expiry()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await Client.UnaryAsync(new EchoRequest { DelayMs = 10_000 }, deadline: DateTime.UtcNow.AddMilliseconds(300)));
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
    }

    [Fact]
    public async Task Cancellation_reaches_the_python_handler()
    {
        using var cancellation = new CancellationTokenSource();
        using var call = Client.Bidi(deadline: Deadline(), cancellationToken: cancellation.Token);
        await call.RequestStream.WriteAsync(new EchoRequest { Text = "first" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await call.RequestStream.WriteAsync(new EchoRequest { Text = "slow", DelayMs = 10_000 });
        // Cancel only once the server is inside the slow request.
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal("delaying:slow", call.ResponseStream.Current.Text);
        cancellation.Cancel();
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);

        // Bounded poll: the python handler notices cancellation within its 10 ms sleep loop.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var answer = await Client.UnaryAsync(new EchoRequest { Text = "__cancelled__" }, deadline: Deadline());
            if (answer.Text == "yes")
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail("the python handler never saw the cancellation");
    }

    [Fact]
    public async Task Unknown_method_is_unimplemented()
    {
        var bytes = new Marshaller<byte[]>(static b => b, static b => b);
        var method = new Method<byte[], byte[]>(MethodType.Unary, "sds.test.v1.Echo", "NoSuchMethod", bytes, bytes);
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await python.Channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(deadline: Deadline()), []));
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    /// <summary>One python3-grpcio echo server for the class, killed by PID at the end.</summary>
    public sealed class PythonServer : IAsyncLifetime
    {
        private PythonProcess? process;

        public GrpcChannel Channel { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            process = PythonProcess.Start("server.py");
            var port = int.Parse(await process.FirstLineAsync(TimeSpan.FromSeconds(30)));
            Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        }

        public Task DisposeAsync()
        {
            Channel?.Dispose();
            process?.Dispose();
            return Task.CompletedTask;
        }
    }
}
