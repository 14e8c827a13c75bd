using System.Buffers.Binary;
using Sds.Storage.Chunks;

namespace Sds.Storage.Replication;

/// <summary>
/// The payload of a PG Raft entry: header <c>kind (1) | volume (16) | chunk index (8, LE) | offset (8) |
/// length (4) | flags (1)</c> then the operation's bytes. Encoded once on the leader (the entry owns the
/// array: Raft keeps a reference, raft/README.md), decoded on every replica at apply time.
/// </summary>
/// <remarks>
/// Write: data. WriteSame: one block pattern; flag 1 = unmap when zero. Unmap: pairs of (offset 8, length 4)
/// after the header (header offset/length unused). CompareAndWrite: compare bytes then write bytes, each
/// <c>length</c> long. Flush: header only.
/// </remarks>
internal readonly ref struct PgCommand
{
    /// <summary>Header size in bytes.</summary>
    public const int HeaderBytes = 1 + 16 + 8 + 8 + 4 + 1;

    /// <summary>Bytes per UNMAP range after the header.</summary>
    public const int UnmapRangeBytes = 12;

    private PgCommand(PgCommandKind kind, ChunkKey chunk, long offsetBytes, int lengthBytes, byte flags, ReadOnlySpan<byte> body)
    {
        Kind = kind;
        Chunk = chunk;
        OffsetBytes = offsetBytes;
        LengthBytes = lengthBytes;
        Flags = flags;
        Body = body;
    }

    public PgCommandKind Kind { get; }

    public ChunkKey Chunk { get; }

    public long OffsetBytes { get; }

    public int LengthBytes { get; }

    public byte Flags { get; }

    public ReadOnlySpan<byte> Body { get; }

    /// <summary>Allocates the entry payload with room for <paramref name="bodyBytes"/> and writes the header.</summary>
    public static byte[] Create(PgCommandKind kind, in ChunkKey chunk, long offsetBytes, int lengthBytes, byte flags, int bodyBytes, out Span<byte> body)
    {
        Invariant.Assert(bodyBytes >= 0, "body size is not negative");
        byte[] payload = new byte[HeaderBytes + bodyBytes];
        Span<byte> span = payload;
        span[0] = (byte)kind;
        chunk.VolumeId.TryWriteBytes(span[1..17]);
        BinaryPrimitives.WriteUInt64LittleEndian(span[17..], chunk.ChunkIndex);
        BinaryPrimitives.WriteInt64LittleEndian(span[25..], offsetBytes);
        BinaryPrimitives.WriteInt32LittleEndian(span[33..], lengthBytes);
        span[37] = flags;
        body = span[HeaderBytes..];
        return payload;
    }

    /// <summary>Decodes an entry payload; false for a payload this version never writes (a bug or a newer peer).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> payload, out PgCommand command)
    {
        command = default;
        if (payload.Length < HeaderBytes || payload[0] is < (byte)PgCommandKind.Write or > (byte)PgCommandKind.Flush)
        {
            return false;
        }

        var chunk = new ChunkKey(new Guid(payload[1..17]), BinaryPrimitives.ReadUInt64LittleEndian(payload[17..]));
        command = new PgCommand((PgCommandKind)payload[0], chunk, BinaryPrimitives.ReadInt64LittleEndian(payload[25..]),
            BinaryPrimitives.ReadInt32LittleEndian(payload[33..]), payload[37], payload[HeaderBytes..]);
        return true;
    }
}
