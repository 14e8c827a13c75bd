using System.Collections.Concurrent;
using Grpc.Core;
using Sds.Proto.V1;
using Sds.Rpc;

namespace Sds.Storage.Client;

/// <summary>
/// One long-lived <c>Storage.Io</c> bidi stream to one storage node: requests from any thread are written in
/// turn, responses (in any order) are matched by id. When the stream breaks, every request in flight fails
/// with <see cref="IoStatusCode.Busy"/> "unreachable" and the next request opens a new stream.
/// </summary>
internal sealed class StorageIoConnection : IAsyncDisposable
{
    private readonly GrpcChannel channel;
    private readonly SemaphoreSlim writeGate = new(1, 1);
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<IoResponse?>> pending = new();
    private readonly CancellationTokenSource disposed = new();
    private AsyncDuplexStreamingCall<IoRequest, IoResponse>? call;
    private ulong nextId;
    // Diagnostics only (Describe): who holds the write gate since when, when the stream opened, how often it broke.
    private long gateHeldSince;
    private ulong gateHolder;
    private long streamOpenedAt;
    private long lastResponseAt;
    private int breaks;

    public StorageIoConnection(string address, string? bearerToken)
    {
        channel = GrpcChannel.ForAddress(address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address, new GrpcChannelOptions
        {
            BearerToken = bearerToken,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            ConnectTimeout = TimeSpan.FromSeconds(1),
        });
    }

    /// <summary>Sends <paramref name="request"/> (its id is assigned here); null when the node could not be reached or the stream broke.</summary>
    public async Task<IoResponse?> SendAsync(IoRequest request, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource<IoResponse?>(TaskCreationOptions.RunContinuationsAsynchronously);
        ulong id = Interlocked.Increment(ref nextId);
        request.Id = id;
        pending[id] = completion;
        await writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        gateHolder = id;
        Volatile.Write(ref gateHeldSince, Environment.TickCount64);
        try
        {
            if (call is null)
            {
                call = new Proto.V1.Storage.StorageClient(channel).Io(cancellationToken: disposed.Token);
                streamOpenedAt = Environment.TickCount64;
                _ = ReadResponsesAsync(call);
            }

            // Cancellable: with the peer not reading (stopped, wedged) the write waits for flow-control space that
            // may never come, and an abort must still answer (issue #7). Cancelling it resets the stream; its other
            // requests fail as unreachable and are retried.
            await call.RequestStream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is RpcException or InvalidOperationException or IOException or HttpRequestException or OperationCanceledException)
        {
            Break(call);
        }
        finally
        {
            Volatile.Write(ref gateHeldSince, 0);
            writeGate.Release();
        }

        using CancellationTokenRegistration registration = cancellationToken.Register(static state => ((TaskCompletionSource<IoResponse?>)state!).TrySetCanceled(), completion);
        try
        {
            return await completion.Task.ConfigureAwait(false);
        }
        finally
        {
            pending.TryRemove(id, out _);
        }
    }

    private async Task ReadResponsesAsync(AsyncDuplexStreamingCall<IoRequest, IoResponse> stream)
    {
        try
        {
            while (await stream.ResponseStream.MoveNext(disposed.Token).ConfigureAwait(false))
            {
                IoResponse response = stream.ResponseStream.Current;
                lastResponseAt = Environment.TickCount64;
                if (pending.TryRemove(response.Id, out TaskCompletionSource<IoResponse?>? completion))
                {
                    completion.TrySetResult(response);
                }
            }
        }
        catch (Exception exception) when (exception is RpcException or OperationCanceledException or InvalidOperationException or IOException)
        {
            // Falls through to Break: the node went away or we are disposing.
        }

        await writeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            Break(stream);
        }
        finally
        {
            writeGate.Release();
        }
    }

    // Called with writeGate held.
    private void Break(AsyncDuplexStreamingCall<IoRequest, IoResponse>? broken)
    {
        if (broken is null || !ReferenceEquals(call, broken))
        {
            // An older stream ending after a newer one replaced it: its requests were failed already.
            return;
        }

        call = null;
        breaks++;
        broken.Dispose();
        FailPending();
    }

    // Each entry is removed and answered on its own: SendAsync adds its request outside the write gate, so one
    // may be added while this runs, and a Clear() after the loop dropped it unanswered — its caller then waited
    // out the whole request timeout on a stream that had long been replaced (ClusterFailoverTests, issue #7).
    private void FailPending()
    {
        foreach (ulong id in pending.Keys)
        {
            if (pending.TryRemove(id, out TaskCompletionSource<IoResponse?>? completion))
            {
                completion.TrySetResult(null);
            }
        }
    }

    /// <summary>
    /// One line on this stream's state for a request that got no answer: whether the write gate is held (by which
    /// request, for how long), the stream's age, the last response's age, requests pending, breaks so far.
    /// </summary>
    public string Describe()
    {
        long now = Environment.TickCount64;
        long held = Volatile.Read(ref gateHeldSince);
        string gate = held == 0 ? "gate free" : $"gate held {now - held} ms by request {gateHolder}";
        string stream = call is null ? "no stream" : $"stream open {now - streamOpenedAt} ms, last response {(lastResponseAt == 0 ? "never" : $"{now - lastResponseAt} ms ago")}";
        return $"{gate}, {stream}, {pending.Count} pending, {breaks} breaks";
    }

    public async ValueTask DisposeAsync()
    {
        await disposed.CancelAsync().ConfigureAwait(false);
        await writeGate.WaitAsync().ConfigureAwait(false);
        Break(call);
        FailPending();
        writeGate.Release();
        channel.Dispose();
        disposed.Dispose();
    }
}
