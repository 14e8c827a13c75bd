namespace Sds.Rpc.Framing;

/// <summary>Outcome of reading the next message of a stream.</summary>
internal enum FrameReadOutcome
{
    /// <summary>A message was read into Current.</summary>
    Message,
    /// <summary>Only part of a frame is buffered (never returned by ReadAsync).</summary>
    NeedMoreData,
    /// <summary>The stream ended cleanly between frames.</summary>
    EndOfStream,
    /// <summary>The stream ended inside a frame (INTERNAL).</summary>
    Truncated,
    /// <summary>A frame exceeds the receive limit (RESOURCE_EXHAUSTED).</summary>
    TooLarge,
    /// <summary>A compressed frame arrived; compression was never negotiated (INTERNAL).</summary>
    Compressed,
    /// <summary>A frame's flag byte is invalid (INTERNAL).</summary>
    Malformed,
    /// <summary>The marshaller rejected the payload (INTERNAL).</summary>
    Undeserializable,
}
