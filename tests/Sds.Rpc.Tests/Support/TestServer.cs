using Sds.Rpc.Tests.Echo;

namespace Sds.Rpc.Tests.Support;

/// <summary>A real <see cref="GrpcServer"/> on 127.0.0.1 with a free port, serving <see cref="EchoService"/>, plus a channel to it.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(GrpcServer server, EchoService echo, GrpcChannel channel)
    {
        Server = server;
        Echo = echo;
        Channel = channel;
    }

    public GrpcServer Server { get; }

    public EchoService Echo { get; }

    public GrpcChannel Channel { get; }

    public global::Sds.Rpc.Tests.Echo.Echo.EchoClient Client => new(Channel);

    public static async Task<TestServer> StartAsync(Action<GrpcServerOptions>? configure = null, GrpcChannelOptions? channelOptions = null)
    {
        var options = new GrpcServerOptions { Endpoints = { "127.0.0.1:0" } };
        configure?.Invoke(options);
        var server = new GrpcServer(options);
        var echo = new EchoService();
        server.AddService(global::Sds.Rpc.Tests.Echo.Echo.BindService(echo));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await server.StartAsync(timeout.Token);
        var channel = GrpcChannel.ForAddress(server.Addresses[0].ToString(), channelOptions);
        return new TestServer(server, echo, channel);
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await Server.DisposeAsync();
    }
}
