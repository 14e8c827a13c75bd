using System.Runtime.InteropServices;

namespace Sds.Gateway.Block;

/// <summary>
/// The few Linux libc calls the file device needs and .NET does not expose: durable data flush,
/// hole punching and data/hole discovery. All return -1 and set errno on failure.
/// </summary>
internal static class LibC
{
    /// <summary>fallocate(2) mode bit: keep the file size unchanged.</summary>
    public const int FallocFlKeepSize = 0x01;
    /// <summary>fallocate(2) mode bit: deallocate the range (must be combined with KEEP_SIZE).</summary>
    public const int FallocFlPunchHole = 0x02;
    /// <summary>lseek(2) whence: next offset at or after the given one that holds data.</summary>
    public const int SeekData = 3;
    /// <summary>lseek(2) whence: next offset at or after the given one inside a hole.</summary>
    public const int SeekHole = 4;
    /// <summary>errno: no data past the offset (SEEK_DATA at or after the last data).</summary>
    public const int Enxio = 6;
    /// <summary>errno: no space left on the device.</summary>
    public const int Enospc = 28;
    /// <summary>errno: disk quota exceeded.</summary>
    public const int Edquot = 122;
    /// <summary>errno: operation not supported by the file system.</summary>
    public const int Eopnotsupp = 95;
    /// <summary>errno: interrupted system call.</summary>
    public const int Eintr = 4;

    /// <summary>fdatasync(2).</summary>
    [DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    public static extern int FDataSync(int fd);

    /// <summary>fallocate(2).</summary>
    [DllImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    public static extern int FAllocate(int fd, int mode, long offset, long length);

    /// <summary>lseek(2) (64-bit off_t on every 64-bit Linux).</summary>
    [DllImport("libc", EntryPoint = "lseek", SetLastError = true)]
    public static extern long LSeek(int fd, long offset, int whence);
}
