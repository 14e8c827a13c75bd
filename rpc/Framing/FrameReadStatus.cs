namespace Sds.Rpc.Framing;

/// <summary>Outcome of trying to take one frame from received bytes.</summary>
internal enum FrameReadStatus
{
    /// <summary>A whole frame is available.</summary>
    Message,
    /// <summary>The buffer ends before the frame does.</summary>
    NeedMoreData,
    /// <summary>The declared length exceeds the receive limit (RESOURCE_EXHAUSTED).</summary>
    TooLarge,
    /// <summary>The compressed flag is set; we never negotiated compression (INTERNAL).</summary>
    Compressed,
    /// <summary>The flag byte is neither 0 nor 1 (INTERNAL).</summary>
    Malformed,
}
