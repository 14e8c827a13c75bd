namespace Grpc.Core;

/// <summary>Per-write hints.</summary>
[Flags]
public enum WriteFlags
{
    /// <summary>The write may be buffered: the transport need not flush it at once.</summary>
    BufferHint = 0x1,
    /// <summary>Do not compress this message.</summary>
    NoCompress = 0x2,
}
