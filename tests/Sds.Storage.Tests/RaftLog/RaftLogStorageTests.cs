using Sds.Raft;
using Sds.Storage.RaftLog;

namespace Sds.Storage.Tests.RaftLog;

/// <summary>
/// Proves the shared Raft-log database: many groups stage into one batch and become durable with one synced
/// write (group commit); logs, hard states, snapshot points and applied indexes survive a reopen; a conflicting
/// suffix is replaced (Raft §5.3); compaction drops entries on disk as well as in memory (Raft §7).
/// </summary>
public sealed class RaftLogStorageTests
{
    private static Entry E(ulong term, ulong index) => new(term, index, EntryType.Normal, new byte[] { (byte)index, 7 });

    [Fact]
    public void FailedSyncIsOwedUntilASyncedCommitSucceeds()
    {
        // Goal: after a failed synced commit no later commit may empty the batch without making it durable — a
        // leader sent its Appends before that sync (Raft thesis §10.2.1), and the node sends nothing and steps no
        // append response while SyncOwed (raft/RaftHost.cs rule (b)). Method: a "full" log disk (a huge free-space
        // reserve) refuses a synced commit; an unsynced one stays refused; once space frees, the next commit asked
        // unsynced is performed synced and clears the debt.
        using var directory = new TemporaryDirectory();
        Assert.True(RaftLogEngine.Open(directory.Path, out RaftLogEngine? engine).IsOk);
        using (engine)
        {
            var log = RaftLogStorage.Open(engine!, 1, new ConfState([1, 2, 3], []));
            Assert.Equal(Sds.Storage.Chunks.ChunkStatus.Ok, engine!.Commit(sync: true));
            long synced = engine.SyncedCommits;
            engine.ChangeFreeSpaceReserve(long.MaxValue / 4);
            log.Save(new HardState(2, 1, 1), [E(2, 2)], null);
            Assert.Equal(Sds.Storage.Chunks.ChunkStatus.NoSpace, engine.Commit(sync: true));
            Assert.True(engine.SyncOwed);
            Assert.Equal(Sds.Storage.Chunks.ChunkStatus.NoSpace, engine.Commit(sync: false));
            Assert.True(engine.SyncOwed);
            Assert.Equal(synced, engine.SyncedCommits);

            engine.ChangeFreeSpaceReserve(0);
            Assert.Equal(Sds.Storage.Chunks.ChunkStatus.Ok, engine.Commit(sync: false));
            Assert.False(engine.SyncOwed);
            Assert.Equal(synced + 1, engine.SyncedCommits); // performed synced although asked unsynced
            Assert.Equal(0, engine.Batch.Count);
        }
    }

    [Fact]
    public void ManyGroupsShareOneSyncedBatchAndSurviveReopen()
    {
        using var directory = new TemporaryDirectory();
        Assert.True(RaftLogEngine.Open(directory.Path, out RaftLogEngine? engine).IsOk);
        using (engine)
        {
            var one = RaftLogStorage.Open(engine!, 1, new ConfState([1, 2, 3], []));
            var two = RaftLogStorage.Open(engine!, 2, new ConfState([1, 2, 3], []));
            // A bootstrapped group starts at a committed snapshot point (1, 1) carrying its configuration, so its
            // log begins at index 2 and a joining member (empty configuration) must start from a snapshot.
            Assert.Equal(2UL, one.FirstIndex);
            Assert.Equal(new HardState(1, 0, 1), one.HardState);
            Assert.Equal(StorageStatus.Ok, one.Snapshot(out Snapshot? point));
            Assert.Equal((1UL, 1UL), (point!.Metadata.Index, point.Metadata.Term));
            Assert.Equal(new ulong[] { 1, 2, 3 }, point.Metadata.ConfState.Voters);
            Assert.Equal(1UL, RaftLogStorage.Open(engine!, 3, ConfState.Empty).FirstIndex);
            one.Save(new HardState(2, 1, 3), [E(1, 2), E(2, 3)], null);
            two.Save(new HardState(1, 3, 2), [E(1, 2)], null);
            Assert.Equal(Sds.Storage.Chunks.ChunkStatus.Ok, engine!.Commit(sync: true));
            Assert.Equal(1, engine.SyncedCommits);

            // Raft §5.3: a conflicting suffix from a new leader replaces ours.
            one.Save(null, [E(3, 3), E(3, 4)], null);
            one.StageApplied(2);
            Assert.Equal(Sds.Storage.Chunks.ChunkStatus.Ok, engine.Commit(sync: true));
        }

        Assert.True(RaftLogEngine.Open(directory.Path, out engine).IsOk);
        using (engine)
        {
            var one = RaftLogStorage.Open(engine!, 1, ConfState.Empty);
            var two = RaftLogStorage.Open(engine!, 2, ConfState.Empty);
            Assert.True(one.Exists);
            Assert.Equal(new HardState(2, 1, 3), one.HardState);
            Assert.Equal(new ulong[] { 1, 2, 3 }, one.ConfState.Voters);
            Assert.Equal(4UL, one.LastIndex);
            Assert.Equal(StorageStatus.Ok, one.Term(3, out ulong term));
            Assert.Equal(3UL, term);
            Assert.Equal(2UL, one.DurableApplied);
            Assert.Equal(2UL, two.LastIndex);
            Assert.Equal(new HardState(1, 3, 2), two.HardState);
            var groups = new List<ulong>();
            engine!.ListGroups(groups);
            Assert.Equal(new ulong[] { 1, 2, 3 }, groups);
        }
    }

    [Fact]
    public void CompactionDropsEntriesOnDiskAndKeepsTheSnapshotPoint()
    {
        using var directory = new TemporaryDirectory();
        Assert.True(RaftLogEngine.Open(directory.Path, out RaftLogEngine? engine).IsOk);
        using (engine)
        {
            var log = RaftLogStorage.Open(engine!, 5, new ConfState([1], []));
            log.Save(new HardState(1, 1, 5), [E(1, 2), E(1, 3), E(1, 4), E(1, 5)], null);
            Assert.Equal(StorageStatus.Ok, log.CreateSnapshot(4, new ConfState([1], [2]), ReadOnlyMemory<byte>.Empty, out _));
            Assert.Equal(StorageStatus.Ok, log.Compact(4));
            Assert.Equal(5UL, log.FirstIndex);
            Assert.Equal(Sds.Storage.Chunks.ChunkStatus.Ok, engine!.Commit(sync: true));
        }

        Assert.True(RaftLogEngine.Open(directory.Path, out engine).IsOk);
        using (engine)
        {
            var log = RaftLogStorage.Open(engine!, 5, ConfState.Empty);
            Assert.Equal(5UL, log.FirstIndex);
            Assert.Equal(5UL, log.LastIndex);
            Assert.Equal(StorageStatus.Compacted, log.Entries(3, 5, ulong.MaxValue, []));
            Assert.Equal(StorageStatus.Ok, log.Snapshot(out Snapshot? snapshot));
            Assert.Equal(4UL, snapshot!.Metadata.Index);
            Assert.Equal(new ulong[] { 2 }, snapshot.Metadata.ConfState.Learners);
        }
    }

    /// <summary>
    /// Payloads beyond the resident budget leave memory once committed and are read back from RocksDB for a lagging
    /// member: the same bytes, in order, a prefix when the byte limit cuts, and the resident tail from memory.
    /// </summary>
    [Fact]
    public void ReleasedPayloadsAreReadBackFromTheDatabase()
    {
        using var directory = new TemporaryDirectory();
        Assert.True(RaftLogEngine.Open(directory.Path, out RaftLogEngine? engine).IsOk);
        using (engine)
        {
            var log = RaftLogStorage.Open(engine!, 9, new ConfState([1], []));
            const int Count = 64;
            const int Size = 64 * 1024;
            var written = new List<Entry>();
            for (ulong index = 2; index < 2 + Count; index++)
            {
                byte[] data = new byte[Size];
                new Random((int)index).NextBytes(data);
                written.Add(new Entry(1, index, EntryType.Normal, data));
            }

            log.Save(new HardState(1, 1, 1 + Count), written.ToArray(), null);
            Assert.Equal(Sds.Storage.Chunks.ChunkStatus.Ok, engine!.Commit(sync: false));
            log.ReleasePayloads();

            // Everything at once (the conf-change replay asks so): the released part from RocksDB, then the tail.
            var all = new List<Entry>();
            Assert.Equal(StorageStatus.Ok, log.Entries(2, 2 + Count, ulong.MaxValue, all));
            Assert.Equal(Count, all.Count);

            for (int i = 0; i < Count; i++)
            {
                Assert.Equal(written[i].Index, all[i].Index);
                Assert.True(written[i].Data.Span.SequenceEqual(all[i].Data.Span), $"entry {written[i].Index} reads back");
            }

            var limited = new List<Entry>();
            Assert.Equal(StorageStatus.Ok, log.Entries(2, 2 + Count, 3 * Size + 1024, limited));
            Assert.Equal(3, limited.Count);
            var tail = new List<Entry>();
            Assert.Equal(StorageStatus.Ok, log.Entries(1 + Count, 2 + Count, ulong.MaxValue, tail));
            Assert.True(written[^1].Data.Span.SequenceEqual(Assert.Single(tail).Data.Span));
            Assert.Equal(StorageStatus.Ok, log.Term(2, out ulong term));
            Assert.Equal(1UL, term);
        }
    }
}
