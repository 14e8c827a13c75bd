using Grpc.Core;

namespace Sds.Rpc.Framing;

/// <summary>
/// Batches the messages of one stream into as few transport writes and flushes as the load allows. Writers
/// serialize into the <c>active</c> buffer; a single pump swaps it with the <c>sending</c> buffer and sends that
/// with one write and one flush. With one message in flight the pump runs inline and sends at once; with many,
/// messages written while a flush is on the wire go out together in the next one. This is what lets one bidi
/// stream carry 4 KiB messages at ~100k/s: a flush per message costs a syscall per message.
/// Owner: the call. Both buffers go back to the pool in exactly one place: <see cref="Dispose"/> when the pump is
/// idle, or the pump itself when it stops after a dispose.
/// </summary>
internal sealed class FrameWritePump
{
    /// <summary>Bytes that may wait for the pump before writers are held back (bounded memory per stream).</summary>
    public const int MaxBufferedBytes = 1024 * 1024;

    private readonly Lock gate = new();
    private readonly IFrameSink sink;
    private PooledBufferWriter active = new(64 * 1024);
    private PooledBufferWriter sending = new(64 * 1024);
    private bool pumpRunning;
    private bool disposed;
    private Exception? failure;
    private TaskCompletionSource? spaceAvailable;
    private TaskCompletionSource? drained;

    public FrameWritePump(IFrameSink sink) => this.sink = sink;

    /// <summary>The first transport failure, if any; every later write fails with it.</summary>
    public Exception? Failure
    {
        get
        {
            lock (gate)
            {
                return failure;
            }
        }
    }

    /// <summary>
    /// Serializes one message into the batch and starts the pump if it is idle. Never waits. Returns
    /// <see cref="FrameWriteStatus.TooLarge"/> (nothing queued) for an oversize message; throws nothing:
    /// a failed or disposed pump reports through <paramref name="failed"/>.
    /// </summary>
    public FrameWriteStatus Enqueue<T>(FrameSerializationContext serializer, Action<T, SerializationContext> marshaller, T message, int maxMessageBytes, out Exception? failed)
    {
        bool start;
        lock (gate)
        {
            failed = failure ?? (disposed ? new ObjectDisposedException(nameof(FrameWritePump)) : null);
            if (failed is not null)
            {
                return FrameWriteStatus.Written;
            }

            if (serializer.Serialize(marshaller, message, active, maxMessageBytes) == FrameWriteStatus.TooLarge)
            {
                return FrameWriteStatus.TooLarge;
            }

            start = !pumpRunning;
            pumpRunning = true;
        }

        if (start)
        {
            _ = RunAsync();
        }

        return FrameWriteStatus.Written;
    }

    /// <summary>Completes when the batch has room again (at once unless more than <see cref="MaxBufferedBytes"/> wait).</summary>
    public Task WaitForSpaceAsync()
    {
        lock (gate)
        {
            if (failure is not null)
            {
                return Task.FromException(failure);
            }

            if (active.WrittenCount < MaxBufferedBytes || !pumpRunning)
            {
                return Task.CompletedTask;
            }

            spaceAvailable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return spaceAvailable.Task;
        }
    }

    /// <summary>Completes when everything queued has been sent (or faults with the transport failure).</summary>
    public Task DrainAsync()
    {
        lock (gate)
        {
            if (failure is not null)
            {
                return Task.FromException(failure);
            }

            if (!pumpRunning)
            {
                return Task.CompletedTask;
            }

            drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return drained.Task;
        }
    }

    /// <summary>Stops taking writes and returns the buffers (now, or when the running pump stops).</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            if (!pumpRunning)
            {
                ReturnBuffersLocked();
            }
        }
    }

    private async Task RunAsync()
    {
        // Bounded: each turn sends what writers queued before it; it stops when a turn finds nothing queued.
        while (true)
        {
            TaskCompletionSource? wakeWriters;
            lock (gate)
            {
                if (active.WrittenCount == 0 || disposed)
                {
                    StopLocked(null);
                    return;
                }

                (active, sending) = (sending, active);
                wakeWriters = spaceAvailable;
                spaceAvailable = null;
            }

            wakeWriters?.TrySetResult();
            try
            {
                await sink.SendBatchAsync(sending.WrittenMemory).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                lock (gate)
                {
                    StopLocked(exception);
                }

                return;
            }

            sending.Reset();
        }
    }

    private void StopLocked(Exception? exception)
    {
        pumpRunning = false;
        failure ??= exception;
        var wakeDrain = drained;
        var wakeWriters = spaceAvailable;
        drained = null;
        spaceAvailable = null;
        if (disposed)
        {
            ReturnBuffersLocked();
        }

        if (failure is not null)
        {
            wakeDrain?.TrySetException(failure);
            wakeWriters?.TrySetException(failure);
        }
        else
        {
            wakeDrain?.TrySetResult();
            wakeWriters?.TrySetResult();
        }
    }

    private void ReturnBuffersLocked()
    {
        active.Dispose();
        sending.Dispose();
    }
}
