using Grpc.Core;
using Sds.Rpc.Tests.Echo;

namespace Sds.Rpc.Tests.Support;

/// <summary>
/// The C# echo server used by the tests. Request header "x-echo" comes back as header "x-echo-header" and trailer
/// "x-echo-trailer"; binary header "x-data-bin" comes back as trailer "x-data-bin". It records cancellations so
/// tests can prove the handler's token fired.
/// </summary>
internal sealed class EchoService : Sds.Rpc.Tests.Echo.Echo.EchoBase
{
    /// <summary>Completes when a handler observed its CancellationToken firing.</summary>
    public TaskCompletionSource HandlerCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a streaming handler has started.</summary>
    public TaskCompletionSource StreamStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The last traceparent header the server saw.</summary>
    public string? LastTraceParent { get; private set; }

    public override async Task<EchoResponse> Unary(EchoRequest request, ServerCallContext context)
    {
        LastTraceParent = context.RequestHeaders.GetValue("traceparent");
        await EchoMetadataAsync(context);
        await BehaveAsync(request, context);
        return new EchoResponse { Text = request.Text, Payload = request.Payload };
    }

    public override async Task ServerStream(EchoRequest request, IServerStreamWriter<EchoResponse> responseStream, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        StreamStarted.TrySetResult();
        for (var i = 0; i < request.Repeat; i++)
        {
            await responseStream.WriteAsync(new EchoResponse { Text = request.Text, Payload = request.Payload, Index = i });
        }

        await BehaveAsync(request, context);
    }

    public override async Task<EchoResponse> ClientStream(IAsyncStreamReader<EchoRequest> requestStream, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        var texts = new List<string>();
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            texts.Add(requestStream.Current.Text);
            await BehaveAsync(requestStream.Current, context);
        }

        return new EchoResponse { Text = string.Join(",", texts) };
    }

    public override async Task Bidi(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoResponse> responseStream, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        StreamStarted.TrySetResult();
        using var registration = context.CancellationToken.Register(() => HandlerCancelled.TrySetResult());
        var index = 0;
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var request = requestStream.Current;
            await BehaveAsync(request, context);
            await responseStream.WriteAsync(new EchoResponse { Text = request.Text, Payload = request.Payload, Index = index++ });
        }
    }

    private static async Task EchoMetadataAsync(ServerCallContext context)
    {
        var echo = context.RequestHeaders.GetValue("x-echo");
        if (echo is not null)
        {
            await context.WriteResponseHeadersAsync(new Metadata { { "x-echo-header", echo } });
            context.ResponseTrailers.Add("x-echo-trailer", echo);
        }

        var data = context.RequestHeaders.Get("x-data-bin");
        if (data is not null)
        {
            context.ResponseTrailers.Add("x-data-bin", data.ValueBytes);
        }
    }

    private async Task BehaveAsync(EchoRequest request, ServerCallContext context)
    {
        if (request.DelayMs > 0)
        {
            try
            {
                await Task.Delay(request.DelayMs, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                HandlerCancelled.TrySetResult();
                throw;
            }
        }

        if (request.ThrowException)
        {
            throw new InvalidOperationException("secret internal detail that must not leak");
        }

        if (request.FailCode != 0)
        {
            throw new RpcException(new Status((StatusCode)request.FailCode, request.FailMessage));
        }
    }
}
