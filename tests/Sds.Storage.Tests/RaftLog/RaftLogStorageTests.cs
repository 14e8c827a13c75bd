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
    public void ManyGroupsShareOneSyncedBatchAndSurviveReopen()
    {
        using var directory = new TemporaryDirectory();
        Assert.True(RaftLogEngine.Open(directory.Path, out RaftLogEngine? engine).IsOk);
        using (engine)
        {
            var one = RaftLogStorage.Open(engine!, 1, new ConfState([1, 2, 3], []));
            var two = RaftLogStorage.Open(engine!, 2, new ConfState([1, 2, 3], []));
            one.Save(new HardState(2, 1, 2), [E(1, 1), E(2, 2)], null);
            two.Save(new HardState(1, 3, 1), [E(1, 1)], null);
            Assert.Equal(Sds.Storage.Chunks.ChunkStatus.Ok, engine!.Commit(sync: true));
            Assert.Equal(1, engine.SyncedCommits);

            // Raft §5.3: a conflicting suffix from a new leader replaces ours.
            one.Save(null, [E(3, 2), E(3, 3)], null);
            one.StageApplied(1);
            Assert.Equal(Sds.Storage.Chunks.ChunkStatus.Ok, engine.Commit(sync: true));
        }

        Assert.True(RaftLogEngine.Open(directory.Path, out engine).IsOk);
        using (engine)
        {
            var one = RaftLogStorage.Open(engine!, 1, ConfState.Empty);
            var two = RaftLogStorage.Open(engine!, 2, ConfState.Empty);
            Assert.True(one.Exists);
            Assert.Equal(new HardState(2, 1, 2), one.HardState);
            Assert.Equal(new ulong[] { 1, 2, 3 }, one.ConfState.Voters);
            Assert.Equal(3UL, one.LastIndex);
            Assert.Equal(StorageStatus.Ok, one.Term(2, out ulong term));
            Assert.Equal(3UL, term);
            Assert.Equal(1UL, one.DurableApplied);
            Assert.Equal(1UL, two.LastIndex);
            Assert.Equal(new HardState(1, 3, 1), two.HardState);
            var groups = new List<ulong>();
            engine!.ListGroups(groups);
            Assert.Equal(new ulong[] { 1, 2 }, groups);
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
            log.Save(new HardState(1, 1, 4), [E(1, 1), E(1, 2), E(1, 3), E(1, 4)], null);
            Assert.Equal(StorageStatus.Ok, log.CreateSnapshot(3, new ConfState([1], [2]), ReadOnlyMemory<byte>.Empty, out _));
            Assert.Equal(StorageStatus.Ok, log.Compact(3));
            Assert.Equal(4UL, log.FirstIndex);
            Assert.Equal(Sds.Storage.Chunks.ChunkStatus.Ok, engine!.Commit(sync: true));
        }

        Assert.True(RaftLogEngine.Open(directory.Path, out engine).IsOk);
        using (engine)
        {
            var log = RaftLogStorage.Open(engine!, 5, ConfState.Empty);
            Assert.Equal(4UL, log.FirstIndex);
            Assert.Equal(4UL, log.LastIndex);
            Assert.Equal(StorageStatus.Compacted, log.Entries(2, 4, ulong.MaxValue, []));
            Assert.Equal(StorageStatus.Ok, log.Snapshot(out Snapshot? snapshot));
            Assert.Equal(3UL, snapshot!.Metadata.Index);
            Assert.Equal(new ulong[] { 2 }, snapshot.Metadata.ConfState.Learners);
        }
    }
}
