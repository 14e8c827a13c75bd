using System.Net;
using Sds.Rpc.Framing;

namespace Sds.Rpc.Client;

/// <summary>
/// The request body of a client- or bidi-streaming call. The HTTP stack calls <see cref="SerializeToStreamAsync(Stream, TransportContext?, CancellationToken)"/>
/// right after the request HEADERS frame; we hand the stream to the call's writer and hold the body open until the
/// writer completes (END_STREAM) or the call is aborted (RST_STREAM).
/// The HTTP stack may call it again for the same request when the server refuses the first stream (REFUSED_STREAM
/// guarantees nothing was processed). That retry gets a fresh stream as long as no message went into the refused
/// one; otherwise it fails, because the writer does not keep sent messages for replay.
/// </summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private readonly Lock gate = new();
    private readonly TaskCompletionSource completeSource = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<Stream> streamSource = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool streamTaken;

    public StreamingRequestContent()
    {
        Headers.TryAddWithoutValidation("content-type", GrpcProtocol.ContentType);
    }

    /// <summary>The request stream for the next write; once taken, the request can no longer be retried.</summary>
    public Task<Stream> TakeStreamAsync()
    {
        lock (gate)
        {
            streamTaken = true;
            return streamSource.Task;
        }
    }

    /// <summary>Ends the request body normally (half-close).</summary>
    public void Complete() => completeSource.TrySetResult();

    /// <summary>Aborts the request body for good; the HTTP stack resets the stream.</summary>
    public void Abort()
    {
        lock (gate)
        {
            streamSource.TrySetCanceled();
        }

        completeSource.TrySetCanceled();
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (streamSource.Task.IsCompleted)
            {
                if (streamTaken || streamSource.Task.IsCanceled)
                {
                    throw new IOException("The server refused the request stream after messages were written to it.");
                }

                streamSource = new TaskCompletionSource<Stream>(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            streamSource.TrySetResult(stream);
        }

        // The HTTP stack cancels this token when this attempt's stream ends first (response done, reset, refused);
        // only this attempt ends then, the call decides itself whether it is over.
        await completeSource.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
