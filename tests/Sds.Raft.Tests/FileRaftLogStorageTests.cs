namespace Sds.Raft.Tests;

/// <summary>
/// <see cref="FileRaftLogStorage"/>: what was synced survives a reopen; a torn or corrupted tail is cut
/// at the last good record; snapshots and compaction survive; a RawNode restarts on it. Each test works in
/// its own temporary directory and damages the segment file by hand to model crashes.
/// </summary>
public sealed class FileRaftLogStorageTests : IDisposable
{
    private static readonly ConfState Voters = new([1, 2, 3], []);
    private readonly string directory = Path.Combine(Path.GetTempPath(), "sds-raft-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Entry[] Entries(ulong first, ulong last, ulong term) =>
        Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => new Entry(term, (ulong)i, EntryType.Normal, new byte[] { (byte)i, 1, 2, 3 })).ToArray();

    private string SegmentPath => Path.Combine(directory, "raft.log");

    [Fact]
    public void SyncedEntriesAndHardStateSurviveReopen()
    {
        using (FileRaftLogStorage storage = FileRaftLogStorage.Open(directory, Voters))
        {
            storage.Save(new HardState(2, 1, 3), Entries(1, 5, 2), null);
            storage.Sync();
        }

        using FileRaftLogStorage reopened = FileRaftLogStorage.Open(directory, ConfState.Empty);
        Assert.Equal(new HardState(2, 1, 3), reopened.HardState);
        Assert.Equal(1UL, reopened.FirstIndex);
        Assert.Equal(5UL, reopened.LastIndex);
        Assert.Equal([1UL, 2UL, 3UL], reopened.ConfState.Voters);
        List<Entry> read = [];
        Assert.Equal(StorageStatus.Ok, reopened.Entries(1, 6, ulong.MaxValue, read));
        Assert.Equal(Entries(1, 5, 2).Select(e => e.Data.ToArray()), read.Select(e => e.Data.ToArray()));
        Assert.Equal(0, reopened.RecoveredTruncatedBytes);
    }

    [Fact]
    public void ConflictingSuffixIsReplacedAcrossReopen()
    {
        using (FileRaftLogStorage storage = FileRaftLogStorage.Open(directory, Voters))
        {
            storage.Save(new HardState(2, 1, 2), Entries(1, 5, 2), null);
            storage.Save(new HardState(3, 2, 2), Entries(3, 4, 3), null); // a new leader's entries from index 3
            storage.Sync();
        }

        using FileRaftLogStorage reopened = FileRaftLogStorage.Open(directory, Voters);
        Assert.Equal(4UL, reopened.LastIndex);
        Assert.Equal(StorageStatus.Ok, reopened.Term(3, out ulong term));
        Assert.Equal(3UL, term);
    }

    [Fact]
    public void TornSaveIsDroppedWholeAndTheTailTruncated()
    {
        long goodLength;
        using (FileRaftLogStorage storage = FileRaftLogStorage.Open(directory, Voters))
        {
            storage.Save(new HardState(1, 1, 2), Entries(1, 3, 1), null);
            storage.Sync();
            goodLength = new FileInfo(SegmentPath).Length;
            storage.Save(new HardState(1, 1, 3), Entries(4, 6, 1), null);
            storage.Sync();
        }

        // A crash mid-write: the second Save's last record is cut in half, so none of that Save counts —
        // not its entries, not its hard state (a Ready is persisted whole or not at all).
        long fullLength = new FileInfo(SegmentPath).Length;
        using (FileStream file = new(SegmentPath, FileMode.Open))
        {
            file.SetLength(fullLength - 5);
        }

        using (FileRaftLogStorage reopened = FileRaftLogStorage.Open(directory, Voters))
        {
            Assert.Equal(3UL, reopened.LastIndex);
            Assert.Equal(new HardState(1, 1, 2), reopened.HardState);
            Assert.Equal(fullLength - 5 - goodLength, reopened.RecoveredTruncatedBytes);
            Assert.Equal(goodLength, new FileInfo(SegmentPath).Length);

            // New records follow the good ones and survive the next reopen.
            reopened.Save(null, Entries(4, 5, 2), null);
            reopened.Sync();
        }

        using FileRaftLogStorage again = FileRaftLogStorage.Open(directory, Voters);
        Assert.Equal(5UL, again.LastIndex);
        Assert.Equal(StorageStatus.Ok, again.Term(4, out ulong term));
        Assert.Equal(2UL, term);
    }

    [Fact]
    public void CorruptedRecordEndsRecoveryThere()
    {
        using (FileRaftLogStorage storage = FileRaftLogStorage.Open(directory, Voters))
        {
            storage.Save(new HardState(1, 1, 0), Entries(1, 4, 1), null);
            storage.Sync();
        }

        // Flip a byte in the last record's payload: its CRC no longer matches.
        byte[] bytes = File.ReadAllBytes(SegmentPath);
        bytes[^2] ^= 0xFF;
        File.WriteAllBytes(SegmentPath, bytes);

        using FileRaftLogStorage reopened = FileRaftLogStorage.Open(directory, Voters);
        Assert.True(reopened.RecoveredTruncatedBytes > 0);
        Assert.True(reopened.LastIndex < 4 || reopened.HardState.IsEmpty);
    }

    [Fact]
    public void SnapshotAndCompactionSurviveReopen()
    {
        using (FileRaftLogStorage storage = FileRaftLogStorage.Open(directory, Voters))
        {
            storage.Save(new HardState(2, 1, 8), Entries(1, 10, 2), null);
            storage.Sync();
            Assert.Equal(StorageStatus.Ok, storage.CreateSnapshot(8, Voters, new byte[] { 9, 9 }, out _));
            Assert.Equal(StorageStatus.Ok, storage.Compact(6));
        }

        using FileRaftLogStorage reopened = FileRaftLogStorage.Open(directory, Voters);
        Assert.Equal(StorageStatus.Ok, reopened.Snapshot(out Snapshot? snapshot));
        Assert.Equal(8UL, snapshot!.Metadata.Index);
        Assert.Equal(new byte[] { 9, 9 }, snapshot.Data.ToArray());
        Assert.Equal(9UL, reopened.FirstIndex);
        Assert.Equal(10UL, reopened.LastIndex);
        Assert.Equal(new HardState(2, 1, 8), reopened.HardState);
    }

    [Fact]
    public void CompactionUpToTheSnapshotIndexKeepsTheSuffixAcrossReopen()
    {
        using (FileRaftLogStorage storage = FileRaftLogStorage.Open(directory, Voters))
        {
            storage.Save(new HardState(2, 1, 8), Entries(1, 10, 2), null);
            storage.Sync();
            storage.CreateSnapshot(8, Voters, new byte[] { 1 }, out _);
            Assert.Equal(StorageStatus.Ok, storage.Compact(8));
            storage.Save(null, Entries(11, 12, 2), null);
            storage.Sync();
        }

        using FileRaftLogStorage reopened = FileRaftLogStorage.Open(directory, Voters);
        Assert.Equal(9UL, reopened.FirstIndex);
        Assert.Equal(12UL, reopened.LastIndex);
        Assert.Equal(StorageStatus.Ok, reopened.Term(8, out ulong term));
        Assert.Equal(2UL, term);
    }

    [Fact]
    public void CorruptSnapshotFileRefusesToOpen()
    {
        using (FileRaftLogStorage storage = FileRaftLogStorage.Open(directory, Voters))
        {
            storage.Save(new HardState(2, 1, 8), Entries(1, 10, 2), null);
            storage.Sync();
            storage.CreateSnapshot(8, Voters, new byte[] { 1, 2, 3 }, out _);
        }

        string snapshotPath = Path.Combine(directory, "snapshot.bin");
        byte[] bytes = File.ReadAllBytes(snapshotPath);
        bytes[^1] ^= 0x55;
        File.WriteAllBytes(snapshotPath, bytes);
        Assert.Throws<InvalidDataException>(() => FileRaftLogStorage.Open(directory, Voters));
    }

    [Fact]
    public void InstalledSnapshotReplacesTheLogAcrossReopen()
    {
        using (FileRaftLogStorage storage = FileRaftLogStorage.Open(directory, Voters))
        {
            storage.Save(new HardState(1, 1, 2), Entries(1, 3, 1), null);
            Snapshot leaders = new(new SnapshotMetadata(20, 4, new ConfState([1, 2, 3, 4], [])), new byte[] { 1 });
            storage.Save(new HardState(4, 0, 20), Entries(21, 22, 4), leaders);
            storage.Sync();
        }

        using FileRaftLogStorage reopened = FileRaftLogStorage.Open(directory, Voters);
        Assert.Equal(21UL, reopened.FirstIndex);
        Assert.Equal(22UL, reopened.LastIndex);
        Assert.Equal(4, reopened.ConfState.Voters.Count);
        Assert.Equal(StorageStatus.Ok, reopened.Term(20, out ulong term));
        Assert.Equal(4UL, term);
    }

    [Fact]
    public void SingleMemberGroupRestartsOnFileStorageAndKeepsItsLog()
    {
        ConfState single = new([1], []);
        ulong lastIndex;
        using (FileRaftLogStorage storage = FileRaftLogStorage.Open(directory, single))
        {
            RawNode node = new(new RaftConfig { Id = 1, Storage = storage });
            node.Campaign();
            node.Propose(new byte[] { 1 });
            node.Propose(new byte[] { 2 });
            Ready ready = node.GetReady();
            storage.Save(ready.HardState, ready.Entries.ToArray(), ready.Snapshot);
            storage.Sync();
            node.Advance(ready);
            lastIndex = node.LastIndex;
            Assert.Equal(lastIndex, node.Committed);
        }

        using FileRaftLogStorage reopened = FileRaftLogStorage.Open(directory, single);
        RawNode restarted = new(new RaftConfig { Id = 1, Storage = reopened });
        Assert.Equal(lastIndex, restarted.LastIndex);
        Assert.Equal(lastIndex, restarted.Committed);
        Ready replay = restarted.GetReady();
        Assert.Equal(lastIndex, (ulong)replay.CommittedEntries.Count); // the state machine is rebuilt from the log
    }
}
