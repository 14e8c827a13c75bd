using System.Net;
using Sds.Rpc.Framing;

namespace Sds.Rpc.Client;

/// <summary>
/// The request body of a unary or server-streaming call: one frame, serialized before the call starts so that an
/// oversize message fails without touching the network. The frame lives in a pooled buffer. Owner: this content.
/// The buffer goes back to the pool when both the owner has disposed it and any send in progress has finished, so
/// the HTTP stack never reads a buffer that another call has already reused.
/// </summary>
internal sealed class UnaryRequestContent : HttpContent
{
    private readonly PooledBufferWriter frame;
    private int references = 1;

    public UnaryRequestContent(PooledBufferWriter frame)
    {
        Invariant.Assert(frame.WrittenCount >= GrpcFrame.HeaderSizeBytes, "a unary body holds a whole frame");
        this.frame = frame;
        Headers.TryAddWithoutValidation("content-type", GrpcProtocol.ContentType);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (!TryAddReference())
        {
            throw new ObjectDisposedException(nameof(UnaryRequestContent));
        }

        try
        {
            await stream.WriteAsync(frame.WrittenMemory, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Release();
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = frame.WrittenCount;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref disposedFlag, 1) == 0)
        {
            Release();
        }

        base.Dispose(disposing);
    }

    private int disposedFlag;

    private bool TryAddReference()
    {
        // Bounded: each retry means another thread changed the count, which happens at most twice per content.
        while (true)
        {
            var current = Volatile.Read(ref references);
            if (current == 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref references, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    private void Release()
    {
        var remaining = Interlocked.Decrement(ref references);
        Invariant.Assert(remaining >= 0, "content references never go negative");
        if (remaining == 0)
        {
            frame.Dispose();
        }
    }
}
