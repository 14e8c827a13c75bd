using System.Net;
using Sds.Rpc.Framing;

namespace Sds.Rpc.Client;

/// <summary>
/// The request body of a client- or bidi-streaming call. The HTTP stack calls <see cref="SerializeToStreamAsync(Stream, TransportContext?, CancellationToken)"/>
/// once, right after the request HEADERS frame; we hand the stream to the call's writer and hold the body open
/// until the writer completes (END_STREAM) or the call is aborted (RST_STREAM).
/// </summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> streamSource = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource completeSource = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StreamingRequestContent()
    {
        Headers.TryAddWithoutValidation("content-type", GrpcProtocol.ContentType);
    }

    /// <summary>The request stream, once the HTTP stack has opened it.</summary>
    public Task<Stream> StreamTask => streamSource.Task;

    /// <summary>Ends the request body normally (half-close).</summary>
    public void Complete() => completeSource.TrySetResult();

    /// <summary>Aborts the request body; the HTTP stack resets the stream.</summary>
    public void Abort()
    {
        streamSource.TrySetCanceled();
        completeSource.TrySetCanceled();
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        // The HTTP stack cancels this token when the response ends first or the call is cancelled.
        using var registration = cancellationToken.UnsafeRegister(static state => ((StreamingRequestContent)state!).Abort(), this);
        streamSource.TrySetResult(stream);
        await completeSource.Task.ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
