using System.Collections.Concurrent;
using Sds.Proto.V1;

namespace Sds.Meta.Membership;

/// <summary>
/// Heartbeat-timeout failure detection, run by the meta leader on its <see cref="TimeProvider"/>: a node
/// silent for <c>downTimeout</c> is proposed DOWN, for <c>outTimeout</c> OUT (its PG slots then move), and a
/// heartbeat from a DOWN or OUT node proposes it UP. Silence is measured from the later of the last heartbeat
/// and the moment this member became leader, so a failover never marks the whole cluster down at once.
/// Only verdicts are replicated; heartbeats themselves stay in the leader's memory.
/// </summary>
internal sealed class FailureDetector
{
    private static readonly TimeSpan ReproposeInterval = TimeSpan.FromSeconds(1);
    private readonly TimeProvider time;
    private readonly TimeSpan downTimeout;
    private readonly TimeSpan outTimeout;
    private readonly ConcurrentDictionary<string, long> lastHeard = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (NodeState State, long At)> proposed = new(StringComparer.Ordinal);
    private long leaderSince;

    /// <summary>Creates a detector.</summary>
    public FailureDetector(TimeProvider time, TimeSpan downTimeout, TimeSpan outTimeout)
    {
        Invariant.Assert(downTimeout > TimeSpan.Zero && outTimeout > downTimeout, "out follows down");
        this.time = time;
        this.downTimeout = downTimeout;
        this.outTimeout = outTimeout;
    }

    /// <summary>Records a heartbeat (any thread).</summary>
    public void Heard(string nodeId) => lastHeard[nodeId] = time.GetTimestamp();

    /// <summary>When the node was last heard from, or null (any thread).</summary>
    public DateTimeOffset? LastHeard(string nodeId) =>
        lastHeard.TryGetValue(nodeId, out long at) ? time.GetUtcNow() - time.GetElapsedTime(at) : null;

    /// <summary>This member just became leader: silence counts from now.</summary>
    public void BecameLeader()
    {
        leaderSince = time.GetTimestamp();
        proposed.Clear();
    }

    /// <summary>State changes to propose now for <paramref name="nodes"/> (host thread, leader only).</summary>
    public List<SetNodeStateCommand> Check(IEnumerable<Node> nodes)
    {
        var verdicts = new List<SetNodeStateCommand>();
        long now = time.GetTimestamp();
        foreach (Node node in nodes)
        {
            long since = lastHeard.TryGetValue(node.Id, out long heard) ? Math.Max(heard, leaderSince) : leaderSince;
            TimeSpan silence = time.GetElapsedTime(since, now);
            bool heardSinceLeader = lastHeard.ContainsKey(node.Id) && heard >= leaderSince;
            NodeState verdict = node.State switch
            {
                NodeState.Up when silence >= downTimeout => NodeState.Down,
                NodeState.Down when silence >= outTimeout => NodeState.Out,
                NodeState.Down or NodeState.Out when heardSinceLeader && silence < downTimeout => NodeState.Up,
                _ => node.State,
            };
            if (verdict == node.State)
            {
                continue;
            }

            if (proposed.TryGetValue(node.Id, out (NodeState State, long At) last) && last.State == verdict && time.GetElapsedTime(last.At, now) < ReproposeInterval)
            {
                continue; // still in flight
            }

            proposed[node.Id] = (verdict, now);
            verdicts.Add(new SetNodeStateCommand { NodeId = node.Id, State = verdict });
        }

        return verdicts;
    }
}
