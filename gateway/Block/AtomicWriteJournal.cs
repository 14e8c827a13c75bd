using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Sds.Gateway.Block;

/// <summary>
/// A one-record redo journal that makes a file device's WRITE ATOMIC all-or-nothing across a
/// crash (SBC-4 §4.29): the data is made durable in the journal first, then written in place and
/// synced, then the record is cleared. On open, a valid record (magic and CRC32C match) is
/// replayed; a torn record fails its checksum and is ignored, leaving the old data.
/// </summary>
/// <remarks>Record layout: magic (8), offset (8), length (4), CRC32C (4), reserved (8), then the data.</remarks>
internal sealed class AtomicWriteJournal : IDisposable
{
    private const ulong Magic = 0x314D_4F54_4153_4453; // "SDSATOM1", little-endian
    private const int HeaderBytes = 32;

    private readonly SafeFileHandle _handle;

    private AtomicWriteJournal(SafeFileHandle handle) => _handle = handle;

    /// <summary>Opens (creating when missing) the journal at <paramref name="path"/>.</summary>
    public static AtomicWriteJournal Open(string path) =>
        new(File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));

    /// <summary>Makes <paramref name="data"/> for <paramref name="offsetBytes"/> durable in the journal.</summary>
    public BlockResult Record(long offsetBytes, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[HeaderBytes];
        header.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], offsetBytes);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], Checksum(offsetBytes, data));
        try
        {
            // Data first, header second, one sync: a crash can leave a header whose data is torn,
            // which the checksum rejects.
            RandomAccess.Write(_handle, data, HeaderBytes);
            RandomAccess.Write(_handle, header, 0);
        }
        catch (IOException)
        {
            return BlockResult.MediumError;
        }
        catch (ObjectDisposedException)
        {
            return BlockResult.HardwareError;
        }
        return Sync();
    }

    /// <summary>Invalidates the record (durably, so a stale record never replays over newer data).</summary>
    public BlockResult Clear()
    {
        Span<byte> zeros = stackalloc byte[8];
        zeros.Clear();
        try
        {
            RandomAccess.Write(_handle, zeros, 0);
        }
        catch (IOException)
        {
            return BlockResult.MediumError;
        }
        catch (ObjectDisposedException)
        {
            return BlockResult.HardwareError;
        }
        return Sync();
    }

    /// <summary>Reads a valid pending record, if the last atomic write did not finish.</summary>
    public bool TryReadPending(out long offsetBytes, out byte[] data)
    {
        offsetBytes = 0;
        data = [];
        Span<byte> header = stackalloc byte[HeaderBytes];
        try
        {
            if (RandomAccess.Read(_handle, header, 0) != HeaderBytes) return false;
            if (BinaryPrimitives.ReadUInt64LittleEndian(header) != Magic) return false;
            offsetBytes = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
            int length = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
            if (offsetBytes < 0 || length <= 0 || length > 64 * 1024 * 1024) return false;
            data = new byte[length];
            if (RandomAccess.Read(_handle, data, HeaderBytes) != length) return false;
            return Checksum(offsetBytes, data) == BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Closes the journal.</summary>
    public void Dispose() => _handle.Dispose();

    private BlockResult Sync()
    {
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            int status;
            do status = LibC.FDataSync((int)_handle.DangerousGetHandle());
            while (status < 0 && Marshal.GetLastPInvokeError() == LibC.Eintr);
            return status == 0 ? BlockResult.Ok : BlockResult.MediumError;
        }
        catch (ObjectDisposedException)
        {
            return BlockResult.HardwareError;
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    private static uint Checksum(long offsetBytes, ReadOnlySpan<byte> data)
    {
        uint crc = BitOperations.Crc32C(uint.MaxValue, (ulong)offsetBytes);
        crc = BitOperations.Crc32C(crc, (uint)data.Length);
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong word in words) crc = BitOperations.Crc32C(crc, word);
        foreach (byte tail in data[(words.Length * 8)..]) crc = BitOperations.Crc32C(crc, tail);
        return ~crc;
    }
}
