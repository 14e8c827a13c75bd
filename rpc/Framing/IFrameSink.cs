namespace Sds.Rpc.Framing;

/// <summary>Where a <see cref="FrameWritePump"/> sends batches of frames: an HTTP/2 request or response body.</summary>
internal interface IFrameSink
{
    /// <summary>Writes one batch of whole frames and flushes it to the transport.</summary>
    ValueTask SendBatchAsync(ReadOnlyMemory<byte> batch);
}
