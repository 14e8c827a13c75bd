using Sds.Storage.Chunks;

namespace Sds.Storage.Tests.Chunks;

/// <summary>
/// Proves the guard that keeps RocksDB away from ENOSPC answers from real statvfs numbers: a
/// reserve larger than any disk refuses at once, no reserve admits, and a bad path is an I/O error.
/// </summary>
public sealed class FreeSpaceGuardTests
{
    [Fact]
    public void ReserveBeyondDisk_RefusesWrites()
    {
        var guard = new FreeSpaceGuard(Path.GetTempPath(), long.MaxValue / 2);
        Assert.Equal(ChunkStatus.NoSpace, guard.Admit(4096));
        Assert.Equal(ChunkStatus.NoSpace, guard.Admit(4096));
    }

    [Fact]
    public void NoReserve_AdmitsManyWritesPerCheck()
    {
        var guard = new FreeSpaceGuard(Path.GetTempPath(), 0);
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(ChunkStatus.Ok, guard.Admit(4096));
        }
    }

    [Fact]
    public void MissingPath_IsIoError()
    {
        var guard = new FreeSpaceGuard("/no/such/sds/path", 0);
        Assert.Equal(ChunkStatus.IoError, guard.Admit(4096));
    }
}
