using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Sds.Rpc.Bench;

/// <summary>A minimal Kestrel HTTP/2 endpoint that reads the body and answers two bytes: the floor under gRPC unary.</summary>
internal sealed class RawHttp2Server : IAsyncDisposable
{
    private readonly WebApplication app;

    private RawHttp2Server(WebApplication app, Uri address)
    {
        this.app = app;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<RawHttp2Server> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        var answer = new byte[] { 1, 2 };
        app.Run(async context =>
        {
            var reader = context.Request.BodyReader;
            while (true)
            {
                var result = await reader.ReadAsync();
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            await context.Response.Body.WriteAsync(answer);
        });
        await app.StartAsync();
        var address = app.Urls.First();
        return new RawHttp2Server(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
