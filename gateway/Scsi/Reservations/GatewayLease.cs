namespace Sds.Gateway.Scsi.Reservations;

/// <summary>
/// This gateway's lease from meta (DESIGN.md §6): while it runs, the watched copy of the reservation state
/// is trusted; when it ends, reserved logical units answer NOT READY (<see cref="ReservationCheck.Unavailable"/>)
/// instead of judging conflicts from a copy that may be stale. One per gateway process, shared by every LU.
/// </summary>
/// <remarks>
/// The heartbeat loop drives it: take <see cref="BeginHeartbeat"/> just before sending, report the applied
/// map version in the request, and call <see cref="Renewed"/> with that timestamp and the answer's
/// <c>lease_duration_ms</c>. The lease counts from the send time, which is earlier than meta's receipt,
/// so it always ends no later than meta believes (meta's ReservationBarrier relies on that). Meta answers
/// a lease of 0 to a gateway behind the latest reservation change, which extends nothing.
/// <see cref="HeartbeatDueAsync"/> lets the loop heartbeat at once after a reservation change was applied,
/// so a PR OUT waiting for every gateway (meta side) does not wait a whole heartbeat interval.
/// </remarks>
internal sealed class GatewayLease
{
    private readonly TimeProvider time;
    // Stopwatch-style timestamp (TimeProvider.GetTimestamp) at which the lease ends; 0 = never granted.
    private long expiresAt;
    private TaskCompletionSource heartbeatWanted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A lease not yet granted, timed by <paramref name="time"/> (system time when null).</summary>
    public GatewayLease(TimeProvider? time = null) => this.time = time ?? TimeProvider.System;

    /// <summary>Whether the lease runs now (hot path: one timestamp read and one compare).</summary>
    public bool IsHeld
    {
        get
        {
            long expires = Volatile.Read(ref expiresAt);
            return expires != 0 && time.GetTimestamp() < expires;
        }
    }

    /// <summary>The timestamp to pass to <see cref="Renewed"/>: take it just before sending a heartbeat.</summary>
    public long BeginHeartbeat() => time.GetTimestamp();

    /// <summary>A heartbeat sent at <paramref name="sentAt"/> was answered with a lease of <paramref name="leaseDurationMs"/>.</summary>
    public void Renewed(long sentAt, uint leaseDurationMs)
    {
        if (leaseDurationMs == 0) return;
        long expires = sentAt + (long)(leaseDurationMs * (double)time.TimestampFrequency / 1000);
        long current = Volatile.Read(ref expiresAt);
        while (expires > current)
        {
            long seen = Interlocked.CompareExchange(ref expiresAt, expires, current);
            if (seen == current) return;
            current = seen;
        }
    }

    /// <summary>Ends the lease now (tests, shutdown).</summary>
    public void Revoke() => Volatile.Write(ref expiresAt, 0);

    /// <summary>Asks the heartbeat loop for a heartbeat now (a reservation change was applied locally).</summary>
    public void RequestHeartbeat() => Volatile.Read(ref heartbeatWanted).TrySetResult();

    /// <summary>Completes after <paramref name="interval"/>, or earlier when <see cref="RequestHeartbeat"/> was called.</summary>
    public async Task HeartbeatDueAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        TaskCompletionSource wanted = Volatile.Read(ref heartbeatWanted);
        if (!wanted.Task.IsCompleted)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task delay = Task.Delay(interval, time, stop.Token);
            await Task.WhenAny(wanted.Task, delay).ConfigureAwait(false);
            stop.Cancel();
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (wanted.Task.IsCompleted)
            Interlocked.CompareExchange(ref heartbeatWanted, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), wanted);
    }
}
