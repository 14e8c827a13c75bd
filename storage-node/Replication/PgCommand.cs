using System.Buffers.Binary;
using System.Diagnostics;
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
/// <c>length</c> long, then with flag <see cref="RequestIdFlag"/> the caller's 16-byte request id. Flush: header only.
/// Flag <see cref="TracedFlag"/> (any kind): the proposer's span context follows the header (trace id 16, span id
/// 8, trace flags 1), so every replica's apply span joins the command's trace (DESIGN.md §8); it is set only for a
/// sampled command, so the untraced hot path pays nothing.
/// </remarks>
internal readonly ref struct PgCommand
{
    /// <summary>Header size in bytes.</summary>
    public const int HeaderBytes = 1 + 16 + 8 + 8 + 4 + 1;

    /// <summary>Bytes per UNMAP range after the header.</summary>
    public const int UnmapRangeBytes = 12;

    /// <summary>Header flag: a trace context (<see cref="TraceContextBytes"/>) follows the header.</summary>
    public const byte TracedFlag = 0x80;

    /// <summary>CompareAndWrite flag: the caller's 16-byte request id follows the write bytes (applied once per PG).</summary>
    public const byte RequestIdFlag = 0x02;

    /// <summary>Size of a request id.</summary>
    public const int RequestIdBytes = 16;

    /// <summary>Size of the trace context after the header.</summary>
    public const int TraceContextBytes = 16 + 8 + 1;

    private PgCommand(PgCommandKind kind, ChunkKey chunk, long offsetBytes, int lengthBytes, byte flags, ReadOnlySpan<byte> body, ActivityContext traceContext)
    {
        TraceContext = traceContext;
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

    /// <summary>The proposer's span context, or default when the command was not sampled.</summary>
    public ActivityContext TraceContext { get; }

    /// <summary>
    /// Allocates the entry payload with room for <paramref name="bodyBytes"/> and writes the header; a sampled
    /// <see cref="Activity.Current"/> (the leader's Io span) is carried along for the replicas.
    /// </summary>
    public static byte[] Create(PgCommandKind kind, in ChunkKey chunk, long offsetBytes, int lengthBytes, byte flags, int bodyBytes, out Span<byte> body)
    {
        Invariant.Assert(bodyBytes >= 0, "body size is not negative");
        Invariant.Assert((flags & TracedFlag) == 0, "the traced flag is the codec's own");
        ActivityContext trace = Activity.Current is { Recorded: true } current ? current.Context : default;
        int traceBytes = trace == default ? 0 : TraceContextBytes;
        byte[] payload = new byte[HeaderBytes + traceBytes + bodyBytes];
        Span<byte> span = payload;
        span[0] = (byte)kind;
        chunk.VolumeId.TryWriteBytes(span[1..17]);
        BinaryPrimitives.WriteUInt64LittleEndian(span[17..], chunk.ChunkIndex);
        BinaryPrimitives.WriteInt64LittleEndian(span[25..], offsetBytes);
        BinaryPrimitives.WriteInt32LittleEndian(span[33..], lengthBytes);
        span[37] = flags;
        if (traceBytes != 0)
        {
            span[37] |= TracedFlag;
            trace.TraceId.CopyTo(span.Slice(HeaderBytes, 16));
            trace.SpanId.CopyTo(span.Slice(HeaderBytes + 16, 8));
            span[HeaderBytes + 24] = (byte)trace.TraceFlags;
        }

        body = span[(HeaderBytes + traceBytes)..];
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
        byte flags = payload[37];
        ActivityContext trace = default;
        int bodyAt = HeaderBytes;
        if ((flags & TracedFlag) != 0)
        {
            if (payload.Length < HeaderBytes + TraceContextBytes)
            {
                return false;
            }

            trace = new ActivityContext(ActivityTraceId.CreateFromBytes(payload.Slice(HeaderBytes, 16)), ActivitySpanId.CreateFromBytes(payload.Slice(HeaderBytes + 16, 8)),
                (ActivityTraceFlags)payload[HeaderBytes + 24], isRemote: true);
            bodyAt += TraceContextBytes;
            flags &= unchecked((byte)~TracedFlag);
        }

        command = new PgCommand((PgCommandKind)payload[0], chunk, BinaryPrimitives.ReadInt64LittleEndian(payload[25..]),
            BinaryPrimitives.ReadInt32LittleEndian(payload[33..]), flags, payload[bodyAt..], trace);
        return true;
    }
}
