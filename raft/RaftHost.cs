namespace Sds.Raft;

/// <summary>
/// Drives <see cref="RawNode"/>s through their <see cref="Ready"/> cycle in the one order that keeps Raft safe.
/// </summary>
/// <remarks>
/// <para>The caller's loop, for each member (Raft thesis §3.8, §10.2; etcd-raft's doc.go):</para>
/// <list type="number">
/// <item><description>Call <see cref="RawNode.Tick"/> on a timer and <see cref="RawNode.Step"/> for every
/// message received; propose and read as clients ask.</description></item>
/// <item><description>When <see cref="RawNode.HasReady"/>, take <see cref="RawNode.GetReady"/>.</description></item>
/// <item><description><b>Persist</b> <see cref="Ready.Snapshot"/>, then <see cref="Ready.Entries"/>, then
/// <see cref="Ready.HardState"/> (<see cref="IRaftLogStorage.Save"/>), and if <see cref="Ready.MustSync"/>
/// make them durable (<see cref="IRaftLogStorage.Sync"/>). Many groups may share one synced write.</description></item>
/// <item><description><b>Send</b> <see cref="Ready.Messages"/>, only now: a vote or an append acknowledgement
/// promises state that must survive a crash (Raft Figure 2: "respond after persisting").</description></item>
/// <item><description><b>Apply</b> the snapshot, then <see cref="Ready.CommittedEntries"/>, to the state
/// machine, and serve <see cref="Ready.ReadStates"/> whose index is applied.</description></item>
/// <item><description>Call <see cref="RawNode.Advance"/>. Membership changes among the applied entries take
/// effect in the core here.</description></item>
/// </list>
/// <para>The methods below do exactly this. <see cref="HandleReadyBatch"/> is the multi-Raft form: it stages
/// every group's Ready, syncs once for all of them (group commit, DESIGN.md §5), then sends, applies and
/// advances each group.</para>
/// <para><b><see cref="ReadySendOrder.LeaderAppendsBeforeSync"/></b> (Raft thesis §10.2.1: "the leader can write
/// to its disk in parallel with replicating to the followers") sends a leader's Append, Heartbeat and Snapshot
/// messages right after the group's <see cref="IRaftLogStorage.Save"/>, before the sync, so the followers' fsync
/// overlaps the leader's instead of following it. It stays safe under three rules:</para>
/// <list type="bullet">
/// <item><description>(a) Nothing leaves early from a Ready that changes the term or the vote
/// (<see cref="Ready.ChangesTermOrVote"/>): a vote and a term are durable before any message of that term
/// (Figure 2), else a restarted member could vote again in a term it already voted in. Responses (append, vote,
/// heartbeat responses) and everything a follower or candidate sends still wait for the sync: they promise
/// durable state (thesis §3.8).</description></item>
/// <item><description>(b) The core counts the leader's own log toward commitment as soon as it appends
/// (its Match moves at append, as in etcd-raft), so no commit index that covers an unsynced entry of the leader
/// may leave early. Here: nothing leaves early from a Ready whose commit index covers one of its own new entries
/// (a lone voter commits at append; its Appends to learners would carry that commit), and the host must never
/// step an acknowledgement before the sync of the cycle that sent the entries has completed: a follower may ack
/// an entry the leader has not yet made durable. A sequential loop (receive → this method → receive) guarantees
/// it as long as syncs succeed; after a failed sync the host must send nothing and drop append responses until a
/// later sync succeeds (the storage node does; see StorageNodeHost and RaftLogEngine.SyncOwed). Then every commit computed counts only entries durable on the leader, and
/// an entry the leader loses in a crash before its sync was never reported committed by anyone.</description></item>
/// <item><description>(c) Committed entries are applied only after the sync, as before.</description></item>
/// </list>
/// <para>The default, <see cref="ReadySendOrder.AfterSync"/>, sends everything after the sync.</para>
/// </remarks>
public static class RaftHost
{
    /// <summary>Runs one Ready cycle for a single group. False when there was nothing to do.</summary>
    public static bool HandleReady<THandler>(RawNode node, IRaftLogStorage storage, THandler handler, ReadySendOrder order = ReadySendOrder.AfterSync)
        where THandler : IReadyHandler
    {
        if (!node.HasReady)
        {
            return false;
        }

        Ready ready = node.GetReady();
        if (ready.HasPersistentState)
        {
            storage.Save(ready.HardState, AsSpan(ready), ready.Snapshot);
        }

        SendBeforeSync(0, node, ready, handler, order);
        if (ready.MustSync)
        {
            handler.Sync();
        }

        Finish(0, node, ready, handler);
        return true;
    }

    /// <summary>
    /// Runs one Ready cycle for many groups with a single sync. <paramref name="nodes"/>[i] persists into
    /// <paramref name="storages"/>[i]; <paramref name="readies"/> is scratch of the same length.
    /// Returns how many groups had work. With <see cref="ReadySendOrder.LeaderAppendsBeforeSync"/> each leader's
    /// replication messages leave right after its group is staged, before the one sync (see the remarks).
    /// </summary>
    public static int HandleReadyBatch<THandler>(IReadOnlyList<RawNode> nodes, IReadOnlyList<IRaftLogStorage> storages, Ready?[] readies, THandler handler, ReadySendOrder order = ReadySendOrder.AfterSync)
        where THandler : IReadyHandler
    {
        Invariant.Assert(nodes.Count == storages.Count && readies.Length >= nodes.Count, "one storage and one slot per group");
        bool mustSync = false;
        int busy = 0;
        for (int i = 0; i < nodes.Count; i++)
        {
            readies[i] = null;
            if (!nodes[i].HasReady)
            {
                continue;
            }

            Ready ready = nodes[i].GetReady();
            readies[i] = ready;
            busy++;
            if (ready.HasPersistentState)
            {
                storages[i].Save(ready.HardState, AsSpan(ready), ready.Snapshot);
            }

            SendBeforeSync(i, nodes[i], ready, handler, order);
            mustSync |= ready.MustSync;
        }

        if (mustSync)
        {
            handler.Sync();
        }

        for (int i = 0; i < nodes.Count; i++)
        {
            if (readies[i] is { } ready)
            {
                Finish(i, nodes[i], ready, handler);
                readies[i] = null;
            }
        }

        return busy;
    }

    /// <summary>
    /// Thesis §10.2.1: hands a leader's Append, Heartbeat and Snapshot messages to the transport now, after the
    /// group's Save and before the sync, and keeps the rest for <see cref="Finish"/>. Rule (a): nothing from a Ready
    /// that changes the term or the vote. Rule (b): nothing from a Ready whose commit index already covers one of
    /// its own new (unsynced) entries.
    /// </summary>
    private static void SendBeforeSync<THandler>(int groupIndex, RawNode node, Ready ready, THandler handler, ReadySendOrder order)
        where THandler : IReadyHandler
    {
        if (order != ReadySendOrder.LeaderAppendsBeforeSync || ready.ChangesTermOrVote || ready.MessagesList.Count == 0)
        {
            return;
        }

        if (ready.EntriesList.Count > 0 && node.Committed >= ready.EntriesList[0].Index)
        {
            // The core counted the leader's own unsynced copy: a lone voter (with learners) commits at append. An
            // Append carrying that commit index could let a learner apply an entry the leader then loses in a crash
            // before this sync. Such a Ready waits for the sync whole. With several voters this never happens: the
            // commit index moves only on acknowledgements, and those cover entries synced in earlier cycles.
            return;
        }

        foreach (Message message in ready.MessagesList)
        {
            (IsLeaderReplication(message.Type) ? ready.BeforeSyncMessagesList : ready.AfterSyncMessagesList).Add(message);
        }

        Invariant.Assert(ready.BeforeSyncMessagesList.Count + ready.AfterSyncMessagesList.Count == ready.MessagesList.Count, "every message sent exactly once");
        if (ready.BeforeSyncMessagesList.Count > 0)
        {
            handler.Send(groupIndex, ready.BeforeSyncMessagesList);
        }
    }

    /// <summary>
    /// Messages only a leader sends to replicate its log. A leader's other messages (TimeoutNow, ReadIndex
    /// answers) and every response keep waiting for the sync.
    /// </summary>
    private static bool IsLeaderReplication(MessageType type) =>
        type is MessageType.Append or MessageType.Heartbeat or MessageType.Snapshot;

    private static void Finish<THandler>(int groupIndex, RawNode node, Ready ready, THandler handler)
        where THandler : IReadyHandler
    {
        // After a split (SendBeforeSync) only the remainder is left to send; otherwise every message.
        bool split = ready.BeforeSyncMessagesList.Count + ready.AfterSyncMessagesList.Count > 0;
        IReadOnlyList<Message> afterSync = split ? ready.AfterSyncMessagesList : ready.MessagesList;
        if (afterSync.Count > 0)
        {
            handler.Send(groupIndex, afterSync);
        }

        if (ready.Snapshot is not null)
        {
            handler.ApplySnapshot(groupIndex, ready.Snapshot);
        }

        if (ready.CommittedEntries.Count > 0 || ready.ReadStates.Count > 0)
        {
            handler.Apply(groupIndex, ready.CommittedEntries, ready.ReadStates);
        }

        node.Advance(ready);
    }

    private static ReadOnlySpan<Entry> AsSpan(Ready ready) => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ready.EntriesList);
}
