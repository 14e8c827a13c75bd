namespace Sds.Raft.Tests;

/// <summary>
/// Seeded crash fuzzing of <see cref="FileRaftLogStorage"/>. Goal: after a crash that cuts the segment at
/// any byte past the last sync, reopening yields exactly the state after some whole number of Saves — never
/// less than what was synced, never a half record. Method: apply random Saves (appends, suffix overwrites by
/// a newer term, hard-state changes), remember the state and segment length after each, sync now and then,
/// cut the file at a random offset at or beyond the last synced length, reopen, and compare with the state
/// of the last Save that fits in the cut.
/// </summary>
public sealed class FileRaftLogStorageCrashTests
{
    private sealed record ModelState(HardState HardState, Entry[] Entries, long LengthBytes);

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    [InlineData(4UL)]
    [InlineData(5UL)]
    [InlineData(6UL)]
    [InlineData(7UL)]
    [InlineData(8UL)]
    public void CrashAtAnyByteAfterTheLastSyncRecoversAWholeSavePrefix(ulong seed)
    {
        string directory = Path.Combine(Path.GetTempPath(), $"sds-raft-crash-{seed}-{Guid.NewGuid():N}");
        try
        {
            for (int round = 0; round < 25; round++)
            {
                RunRound(directory, new SplitMix64Random((seed * 1000) + (ulong)round));
                Directory.Delete(directory, recursive: true);
            }
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static void RunRound(string directory, SplitMix64Random random)
    {
        ConfState voters = new([1, 2, 3], []);
        List<ModelState> states = [];
        List<Entry> log = [];
        HardState hardState = default;
        long syncedLength;
        int syncedState;
        using (FileRaftLogStorage storage = FileRaftLogStorage.Open(directory, voters))
        {
            states.Add(new ModelState(hardState, [], storage.SegmentLengthBytes));
            syncedLength = storage.SegmentLengthBytes;
            syncedState = 0;
            int operations = 5 + random.Next(40);
            for (int op = 0; op < operations; op++)
            {
                (HardState? newHardState, Entry[] entries) = RandomSave(random, log, ref hardState);
                storage.Save(newHardState, entries, null);
                storage.FlushToOperatingSystem();
                states.Add(new ModelState(hardState, [.. log], storage.SegmentLengthBytes));
                if (random.Chance(0.3))
                {
                    storage.Sync();
                    syncedLength = storage.SegmentLengthBytes;
                    syncedState = states.Count - 1;
                }
            }
        }

        // The crash: everything after the last sync may or may not have reached the disk, up to any byte.
        string segmentPath = Path.Combine(directory, "raft.log");
        long fullLength = new FileInfo(segmentPath).Length;
        long cut = syncedLength + (long)(random.NextUInt64() % (ulong)(fullLength - syncedLength + 1));
        using (FileStream file = new(segmentPath, FileMode.Open))
        {
            file.SetLength(cut);
        }

        int expectedState = syncedState;
        for (int i = syncedState; i < states.Count; i++)
        {
            if (states[i].LengthBytes <= cut)
            {
                expectedState = i;
            }
        }

        ModelState expected = states[expectedState];
        using FileRaftLogStorage reopened = FileRaftLogStorage.Open(directory, voters);
        Assert.Equal(expected.HardState, reopened.HardState);
        Assert.Equal((ulong)expected.Entries.Length, reopened.LastIndex);
        List<Entry> read = [];
        if (expected.Entries.Length > 0)
        {
            Assert.Equal(StorageStatus.Ok, reopened.Entries(1, reopened.LastIndex + 1, ulong.MaxValue, read));
        }

        Assert.Equal(expected.Entries.Select(static e => (e.Index, e.Term, e.Data.ToArray().Length)), read.Select(static e => (e.Index, e.Term, e.Data.ToArray().Length)));
        Assert.Equal(cut == states[expectedState].LengthBytes ? 0 : cut - states[expectedState].LengthBytes, reopened.RecoveredTruncatedBytes);
    }

    private static (HardState?, Entry[]) RandomSave(SplitMix64Random random, List<Entry> log, ref HardState hardState)
    {
        ulong term = Math.Max(hardState.Term, 1);
        if (random.Chance(0.2))
        {
            term++;
        }

        Entry[] entries = [];
        int kind = random.Next(3);
        if (kind == 0 || log.Count == 0 || (ulong)log.Count <= hardState.Commit)
        {
            int count = 1 + random.Next(3);
            entries = Enumerable.Range(log.Count + 1, count)
                .Select(i => new Entry(term, (ulong)i, EntryType.Normal, new byte[random.Next(300)])).ToArray();
        }
        else if (kind == 1)
        {
            // A newer leader overwrites an uncommitted suffix.
            term++;
            ulong from = hardState.Commit + 1 + (ulong)random.Next(log.Count - (int)hardState.Commit);
            int count = 1 + random.Next(3);
            entries = Enumerable.Range((int)from, count)
                .Select(i => new Entry(term, (ulong)i, EntryType.Normal, new byte[random.Next(50)])).ToArray();
        }

        if (entries.Length > 0)
        {
            log.RemoveRange((int)entries[0].Index - 1, log.Count - ((int)entries[0].Index - 1));
            log.AddRange(entries);
        }

        HardState? newHardState = null;
        if (entries.Length == 0 || random.Chance(0.5))
        {
            ulong commit = Math.Min((ulong)log.Count, hardState.Commit + (ulong)random.Next(3));
            hardState = new HardState(Math.Max(term, log.Count > 0 ? log[^1].Term : 0), (ulong)random.Next(4), commit);
            newHardState = hardState;
        }

        return (newHardState, entries);
    }
}
