using System.Collections.Concurrent;

namespace Sds.Meta.Api;

/// <summary>
/// DESIGN.md §6: "a PR OUT completes only when every live gateway holds the new generation". The leader
/// keeps, in memory, the cluster map version each node last reported applied in its heartbeat
/// (<c>HeartbeatRequest.applied_cluster_map_version</c>); <see cref="WaitAsync"/> holds a PR OUT answer
/// until every UP gateway reported at least the version carrying the reservation change, or until the
/// lease of every gateway that did not has surely ended.
/// </summary>
/// <remarks>
/// Why the lease bound is safe: <c>ClusterService.Heartbeat</c> grants no lease extension to a gateway whose
/// applied version is below the latest reservation change (<c>MetaStateMachine.ReservationVersion</c>). A
/// heartbeat answered before the change was committed extends the gateway's lease to at most its send time +
/// the lease, which is before commit + lease; so at commit + lease (plus <see cref="ClockMargin"/> for rate
/// drift between the two clocks) a gateway that has not caught up answers reserved LUs with NOT READY instead
/// of its stale copy. Leader-local like the failure detector: a new leader starts empty and simply waits for
/// the next heartbeats (gateways heartbeat every second, and at once after applying a reservation change).
/// </remarks>
internal sealed class ReservationBarrier
{
    /// <summary>Added to the lease before giving up on a silent gateway (clock rate differences, scheduling).</summary>
    public static readonly TimeSpan ClockMargin = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);
    private readonly ConcurrentDictionary<string, ulong> applied = new(StringComparer.Ordinal);
    // When this leader first waited for a version: a client whose attempt deadline (MetaClient: 5 s) is shorter
    // than the lease retries with the same request id, and the retry must continue that wait, not restart it.
    private readonly ConcurrentDictionary<ulong, long> waitStarted = new();
    private readonly TimeSpan lease;
    private readonly TimeProvider time;

    /// <summary>Creates the barrier for gateways holding leases of <paramref name="lease"/>, timed by <paramref name="time"/>.</summary>
    public ReservationBarrier(TimeSpan lease, TimeProvider time)
    {
        Invariant.Assert(lease > TimeSpan.Zero, "a gateway lease has a duration");
        this.lease = lease;
        this.time = time;
    }

    /// <summary>Records a heartbeat's applied version (any thread; versions never move back).</summary>
    public void Reported(string nodeId, ulong appliedVersion) =>
        applied.AddOrUpdate(nodeId, appliedVersion, (_, known) => Math.Max(known, appliedVersion));

    /// <summary>The version <paramref name="nodeId"/> last reported applied (0 when never heard by this leader).</summary>
    public ulong AppliedVersion(string nodeId) => applied.TryGetValue(nodeId, out ulong version) ? version : 0;

    /// <summary>
    /// Waits until every node in <paramref name="liveGateways"/> (re-read each round, so a gateway marked DOWN
    /// meanwhile stops counting) reported <paramref name="version"/>, or the lease bound passed. Returns the
    /// gateways that never reported (their leases ended instead), for the log.
    /// </summary>
    public async Task<IReadOnlyList<string>> WaitAsync(ulong version, Func<Task<IReadOnlyList<string>>> liveGateways, CancellationToken cancellationToken)
    {
        long now = time.GetTimestamp();
        foreach ((ulong stale, long at) in waitStarted)
        {
            if (time.GetElapsedTime(at, now) > 4 * (lease + ClockMargin))
            {
                waitStarted.TryRemove(stale, out _);
            }
        }

        long started = waitStarted.GetOrAdd(version, now);
        while (true)
        {
            IReadOnlyList<string> gateways = await liveGateways();
            List<string>? behind = null;
            foreach (string gateway in gateways)
            {
                if (AppliedVersion(gateway) < version)
                {
                    (behind ??= new List<string>()).Add(gateway);
                }
            }

            if (behind is null)
            {
                waitStarted.TryRemove(version, out _);
                return Array.Empty<string>();
            }

            if (time.GetElapsedTime(started) >= lease + ClockMargin)
            {
                return behind;
            }

            await Task.Delay(PollInterval, time, cancellationToken);
        }
    }
}
