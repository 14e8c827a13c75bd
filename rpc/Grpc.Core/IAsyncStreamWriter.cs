namespace Grpc.Core;

/// <summary>A stream of messages written one at a time; at most one write may be pending.</summary>
public interface IAsyncStreamWriter<in T>
{
    /// <summary>Options of the following writes.</summary>
    WriteOptions? WriteOptions { get; set; }

    /// <summary>Writes one message.</summary>
    Task WriteAsync(T message);

    /// <summary>Writes one message, cancellable.</summary>
    Task WriteAsync(T message, CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            throw new NotSupportedException("This writer does not support a cancellation token.");
        }

        return WriteAsync(message);
    }
}
