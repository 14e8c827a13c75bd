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
/// </remarks>
public static class RaftHost
{
    /// <summary>Runs one Ready cycle for a single group. False when there was nothing to do.</summary>
    public static bool HandleReady<THandler>(RawNode node, IRaftLogStorage storage, THandler handler)
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
    /// Returns how many groups had work.
    /// </summary>
    public static int HandleReadyBatch<THandler>(IReadOnlyList<RawNode> nodes, IReadOnlyList<IRaftLogStorage> storages, Ready?[] readies, THandler handler)
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

    private static void Finish<THandler>(int groupIndex, RawNode node, Ready ready, THandler handler)
        where THandler : IReadyHandler
    {
        if (ready.Messages.Count > 0)
        {
            handler.Send(groupIndex, ready.Messages);
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
