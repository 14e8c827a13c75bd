namespace Sds.Rpc.Framing;

/// <summary>Outcome of serializing one message into a frame.</summary>
internal enum FrameWriteStatus
{
    /// <summary>The frame was written to the target.</summary>
    Written,
    /// <summary>The payload exceeds the send limit; nothing was written to the target (RESOURCE_EXHAUSTED).</summary>
    TooLarge,
}
