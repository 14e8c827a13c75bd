using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Sds.Storage.Native;

/// <summary>
/// The Linux file calls .NET does not expose: fallocate (space reservation and hole punching),
/// lseek with SEEK_DATA/SEEK_HOLE (allocated extents), fdatasync and directory fsync. Each returns
/// 0 or an errno value, never throws: the chunk store turns errno into a status at its edge.
/// </summary>
internal static class LinuxFile
{
    /// <summary>errno ENXIO: SEEK_DATA found no data after the offset.</summary>
    public const int ErrnoNoSuchDeviceOrAddress = 6;

    /// <summary>errno EWOULDBLOCK (EAGAIN): a non-blocking lock is held by someone else.</summary>
    public const int ErrnoWouldBlock = 11;

    /// <summary>errno ENOSPC.</summary>
    public const int ErrnoNoSpace = 28;

    /// <summary>errno EOPNOTSUPP: the file system cannot do this fallocate mode.</summary>
    public const int ErrnoNotSupported = 95;

    // linux/falloc.h.
    private const int FallocateKeepSize = 0x01;
    private const int FallocatePunchHole = 0x02;

    // unistd.h (Linux values).
    private const int SeekData = 3;
    private const int SeekHole = 4;

    private const int OpenReadOnly = 0;

    /// <summary>
    /// Allocates [offset, offset+length) without changing the file size, so later writes into the
    /// range cannot fail with ENOSPC. Already allocated ranges are left as they are.
    /// </summary>
    public static int Reserve(SafeFileHandle file, long offsetBytes, long lengthBytes)
        => Fallocate(file, 0, offsetBytes, lengthBytes);

    /// <summary>Deallocates [offset, offset+length); the range then reads as zeros and the size is kept.</summary>
    public static int PunchHole(SafeFileHandle file, long offsetBytes, long lengthBytes)
        => Fallocate(file, FallocatePunchHole | FallocateKeepSize, offsetBytes, lengthBytes);

    /// <summary>Flushes the file's data (and the metadata needed to read it back) to the device.</summary>
    public static int DataSync(SafeFileHandle file)
    {
        bool added = false;
        file.DangerousAddRef(ref added);
        try
        {
            return fdatasync((int)file.DangerousGetHandle()) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
        finally
        {
            file.DangerousRelease();
        }
    }

    /// <summary>
    /// fsync()s a directory so that files created in it survive a crash; fdatasync of the file alone
    /// does not persist its directory entry.
    /// </summary>
    public static int SyncDirectory(string path)
    {
        int descriptor = open(path, OpenReadOnly);
        if (descriptor < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        int result = fsync(descriptor) == 0 ? 0 : Marshal.GetLastPInvokeError();
        close(descriptor);
        return result;
    }

    /// <summary>
    /// The next allocated offset at or after <paramref name="offsetBytes"/> (SEEK_DATA), or -1 with
    /// errno ENXIO when there is none.
    /// </summary>
    public static long SeekToData(SafeFileHandle file, long offsetBytes, out int errno)
        => Seek(file, offsetBytes, SeekData, out errno);

    /// <summary>The next hole at or after <paramref name="offsetBytes"/> (SEEK_HOLE); end of file counts as a hole.</summary>
    public static long SeekToHole(SafeFileHandle file, long offsetBytes, out int errno)
        => Seek(file, offsetBytes, SeekHole, out errno);

    /// <summary>
    /// Bytes an unprivileged writer may still allocate on the file system holding
    /// <paramref name="path"/> (statvfs f_bavail × f_frsize), or -1 with errno.
    /// </summary>
    public static unsafe long AvailableBytes(string path, out int errno)
    {
        // struct statvfs on 64-bit glibc (x86_64 and aarch64): f_bsize, f_frsize, f_blocks, f_bfree,
        // f_bavail, ... each 8 bytes, 112 bytes in all; the buffer is larger to be safe.
        ulong* buffer = stackalloc ulong[32];
        if (statvfs(path, buffer) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return -1;
        }

        errno = 0;
        ulong fragmentSize = buffer[1];
        ulong available = buffer[4];
        return (long)Math.Min(available * fragmentSize, long.MaxValue);
    }

    private static int Fallocate(SafeFileHandle file, int mode, long offsetBytes, long lengthBytes)
    {
        bool added = false;
        file.DangerousAddRef(ref added);
        try
        {
            return fallocate((int)file.DangerousGetHandle(), mode, offsetBytes, lengthBytes) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
        finally
        {
            file.DangerousRelease();
        }
    }

    private static long Seek(SafeFileHandle file, long offsetBytes, int whence, out int errno)
    {
        bool added = false;
        file.DangerousAddRef(ref added);
        try
        {
            // Only the returned offset matters: chunk I/O is positional, so moving the shared file
            // position here cannot disturb a concurrent pread/pwrite.
            long result = lseek((int)file.DangerousGetHandle(), offsetBytes, whence);
            errno = result < 0 ? Marshal.GetLastPInvokeError() : 0;
            return result;
        }
        finally
        {
            file.DangerousRelease();
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int fallocate(int descriptor, int mode, long offset, long length);

    [DllImport("libc", SetLastError = true)]
    private static extern long lseek(int descriptor, long offset, int whence);

    [DllImport("libc", SetLastError = true)]
    private static extern int fdatasync(int descriptor);

    [DllImport("libc", SetLastError = true)]
    private static extern int fsync(int descriptor);

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int descriptor);

    [DllImport("libc", SetLastError = true)]
    private static extern unsafe int statvfs([MarshalAs(UnmanagedType.LPUTF8Str)] string path, ulong* buffer);
}
