using Sds.Storage.RocksDb;

namespace Sds.Storage.Tests.RocksDb;

/// <summary>
/// Proves RocksDB's <c>Status::ToString()</c> messages (as librocksdb7.8 prints them) map to the
/// error kinds the stores act on: lock conflicts and ENOSPC must never read as generic I/O errors.
/// </summary>
public sealed class RocksDbStatusTests
{
    [Theory]
    [InlineData("IO error: While lock file: /d/LOCK: Resource temporarily unavailable", nameof(RocksDbErrorKind.Locked))]
    [InlineData("IO error: lock hold by current process, acquire time 1 acquiring thread 2: /d/LOCK: No locks available", nameof(RocksDbErrorKind.Locked))]
    [InlineData("IO error: No space left on device: While appending to file: /d/000004.log: No space left on device", nameof(RocksDbErrorKind.NoSpace))]
    [InlineData("IO error: While mkdir if missing: /proc/x: No such file or directory", nameof(RocksDbErrorKind.IoError))]
    [InlineData("Invalid argument: /d/CURRENT: does not exist (create_if_missing is false)", nameof(RocksDbErrorKind.InvalidArgument))]
    [InlineData("Corruption: block checksum mismatch", nameof(RocksDbErrorKind.Corruption))]
    [InlineData("NotFound: ", nameof(RocksDbErrorKind.NotFound))]
    [InlineData("Not implemented: Unsupported compression method", nameof(RocksDbErrorKind.NotSupported))]
    [InlineData("Busy: ", nameof(RocksDbErrorKind.Busy))]
    [InlineData("Something new", nameof(RocksDbErrorKind.Other))]
    public void Messages_MapToKinds(string message, string kind)
    {
        // The kind is passed by name because test methods are public and the enum is internal.
        Assert.Equal(Enum.Parse<RocksDbErrorKind>(kind), RocksDbStatus.Classify(message));
    }

    [Fact]
    public void Ok_HasNoMessage()
    {
        Assert.True(RocksDbStatus.Ok.IsOk);
        Assert.Null(RocksDbStatus.Ok.Message);
        Assert.Equal(RocksDbStatus.Ok, RocksDbStatus.FromError(0));
    }
}
