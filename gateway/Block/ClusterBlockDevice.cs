using System.Buffers;
using Sds.Proto.V1;
using Sds.Storage.Client;

namespace Sds.Gateway.Block;

/// <summary>
/// One replicated volume as a block device (DESIGN.md §5): each request is split at chunk boundaries and
/// every piece goes, concurrently, to its placement group's leader through <see cref="StorageClient"/>, which
/// caches leaders, follows NOT_LEADER hints and retries on leader change, BUSY or an unreachable node until
/// its request timeout (the command's time budget). The SCSI layer's cancellation token (ABORT TASK, LUN
/// RESET, session loss) reaches every in-flight storage call; the device waits for all pieces before it
/// returns, because a piece still running could otherwise write into a buffer the caller has reused.
/// </summary>
/// <remarks>
/// <para>Rules (gateway/Block/README.md):</para>
/// <list type="bullet">
/// <item>The logical block size must equal the storage nodes' block size (<c>sds storage --block-size</c>, 512 or
/// 4096): a smaller block would need a read-modify-write, which is not atomic against another gateway writing the
/// same storage block, and WRITE SAME sends exactly one storage block as its pattern.</item>
/// <item>SYNCHRONIZE CACHE needs no round trip: a storage write is acknowledged only once durable on a quorum.</item>
/// <item>COMPARE AND WRITE runs as one Raft command on one PG, so it must not cross a chunk boundary; one that
/// would is refused (ILLEGAL REQUEST). A MISCOMPARE after an attempt that may have been applied is re-checked by
/// reading the range back (<see cref="CompareAndWriteAsync"/>).</item>
/// <item>WRITE ATOMIC (SBC-4 §5.48), when the constructor asks for it (sds server), is offered up to one chunk: a write inside one chunk is one Raft command (one
/// log entry, replayed whole after a crash); one crossing a chunk boundary would be two, and is refused (ILLEGAL
/// REQUEST) as COMPARE AND WRITE is.</item>
/// </list>
/// </remarks>
internal sealed class ClusterBlockDevice : IBlockDevice
{
    /// <summary>The storage nodes' default block size (<c>StorageNodeConfig.BlockSizeBytes</c>).</summary>
    public const int StorageBlockSizeBytesDefault = 4096;

    /// <summary>Default chunk size, the unit of placement (DESIGN.md §4).</summary>
    public const long ChunkSizeBytesDefault = 4L * 1024 * 1024;

    /// <summary>Chunk pieces of one command in flight at once (an UNMAP may touch 1,024 chunks).</summary>
    public const int PiecesInFlightMax = 64;

    private readonly StorageClient client;
    private readonly Guid volumeId;
    private readonly long chunkSizeBytes;
    private long sizeBytes;

    /// <summary>The file system block of the storage nodes' file chunk store, the unit a hole punch frees.</summary>
    public const int FileSystemBlockBytes = 4096;

    private readonly int provisioningGranularityBytes;
    private readonly bool atomicWrites;

    /// <summary>
    /// Creates the device of volume <paramref name="volumeId"/>; <paramref name="client"/> is shared and not owned.
    /// <paramref name="provisioningGranularityBytes"/> (0 = the block) is what <see cref="ProvisioningGranularityBytes"/>
    /// reports: <see cref="FileSystemBlockBytes"/> for <c>sds server</c> (see that property). <paramref name="atomicWrites"/>
    /// offers WRITE ATOMIC inside one chunk (<see cref="AtomicWriteBytesMax"/>).
    /// </summary>
    public ClusterBlockDevice(StorageClient client, Guid volumeId, long sizeBytes, int blockSizeBytes, long chunkSizeBytes = ChunkSizeBytesDefault,
        int provisioningGranularityBytes = 0, bool atomicWrites = false)
    {
        this.atomicWrites = atomicWrites;
        Invariant.Assert(provisioningGranularityBytes == 0 || (provisioningGranularityBytes >= blockSizeBytes && provisioningGranularityBytes % blockSizeBytes == 0),
            "the provisioning unit is whole blocks");
        this.provisioningGranularityBytes = provisioningGranularityBytes == 0 ? blockSizeBytes : provisioningGranularityBytes;
        Invariant.Assert(blockSizeBytes is 512 or 4096, "block size is 512 or 4096 (the storage block size)");
        Invariant.Assert(chunkSizeBytes > 0 && chunkSizeBytes % blockSizeBytes == 0, "a chunk holds whole blocks");
        Invariant.Assert(sizeBytes >= 0 && sizeBytes % blockSizeBytes == 0, "size is whole blocks");
        this.client = client;
        this.volumeId = volumeId;
        this.chunkSizeBytes = chunkSizeBytes;
        this.sizeBytes = sizeBytes;
        BlockSizeBytes = blockSizeBytes;
    }

    /// <summary>Whether a volume with this logical block size can be served by storage nodes of <paramref name="storageBlockSizeBytes"/>.</summary>
    public static bool Supports(int blockSizeBytes, int storageBlockSizeBytes) => blockSizeBytes == storageBlockSizeBytes;

    /// <inheritdoc />
    public long SizeBytes => Volatile.Read(ref sizeBytes);

    /// <inheritdoc />
    public int BlockSizeBytes { get; }

    /// <summary>
    /// The chunk store deallocates whole storage blocks (the default), but the file chunk store frees space by
    /// punching holes, which release whole file-system blocks only: as for <see cref="FileBlockDevice"/>, 4 KiB is the
    /// unit in which space really comes back. <c>sds server</c> reports that (LBPPBE 3 on 512-byte volumes, as its
    /// file-backed demo LU did); the cluster gateway does not yet, because fio through qemu-nbd stalled on a
    /// 3-replica volume reporting it (ClusterFailoverTests, 2026-11-21; not understood, docs/decisions.md).
    /// </summary>
    public int ProvisioningGranularityBytes => provisioningGranularityBytes;

    /// <inheritdoc />
    public bool SupportsUnmap => true;

    /// <summary>
    /// One chunk when offered (a write inside one chunk is one Raft command, see the remarks), else 0. Only
    /// <c>sds server</c> offers it yet: with it advertised, fio through qemu-nbd wrote several times less through a
    /// 3-replica cluster gateway in ClusterFailoverTests (2026-11-21; not understood, docs/decisions.md).
    /// </summary>
    public int AtomicWriteBytesMax => atomicWrites ? (int)Math.Min(chunkSizeBytes, int.MaxValue) : 0;

    /// <inheritdoc />
    public ValueTask<BlockResult> WriteAtomicAsync(long offsetBytes, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken)
    {
        if (!atomicWrites) return new(BlockResult.NotSupported);
        if (!InRange(offsetBytes, data.Length)) return new(BlockResult.OutOfRange);
        if (data.Length > 0 && offsetBytes / chunkSizeBytes != (offsetBytes + data.Length - 1) / chunkSizeBytes)
        {
            // Two chunks are two PGs: no single Raft command writes both, so the write could land in part.
            return new(BlockResult.NotAtomicRange);
        }

        return RunAsync(new Piece(PieceKind.Write, offsetBytes, data.Length, default, data, forceUnitAccess), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<BlockResult> ReadAsync(long offsetBytes, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!InRange(offsetBytes, buffer.Length)) return new(BlockResult.OutOfRange);
        return RunAsync(new Piece(PieceKind.Read, offsetBytes, buffer.Length, buffer, default, false), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<BlockResult> WriteAsync(long offsetBytes, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken)
    {
        if (!InRange(offsetBytes, data.Length)) return new(BlockResult.OutOfRange);
        return RunAsync(new Piece(PieceKind.Write, offsetBytes, data.Length, default, data, forceUnitAccess), cancellationToken);
    }

    /// <summary>Acknowledged storage writes are already durable on a quorum (DESIGN.md §5.2): nothing to wait for.</summary>
    public ValueTask<BlockResult> FlushAsync(CancellationToken cancellationToken) =>
        new(cancellationToken.IsCancellationRequested ? BlockResult.Cancelled : BlockResult.Ok);

    /// <inheritdoc />
    public ValueTask<BlockResult> UnmapAsync(long offsetBytes, long lengthBytes, CancellationToken cancellationToken)
    {
        if (!InRange(offsetBytes, lengthBytes)) return new(BlockResult.OutOfRange);
        return RunAsync(new Piece(PieceKind.Unmap, offsetBytes, lengthBytes, default, default, false), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<BlockResult> WriteSameAsync(long offsetBytes, long lengthBytes, ReadOnlyMemory<byte> pattern, bool deallocate, CancellationToken cancellationToken)
    {
        Invariant.Assert(pattern.Length == BlockSizeBytes, "WRITE SAME repeats one block");
        if (!InRange(offsetBytes, lengthBytes)) return new(BlockResult.OutOfRange);
        return RunAsync(new Piece(PieceKind.WriteSame, offsetBytes, lengthBytes, default, pattern, deallocate), cancellationToken);
    }

    /// <summary>
    /// COMPARE AND WRITE as one Raft command on the chunk's PG (atomic across every gateway, DESIGN.md §5.4).
    /// </summary>
    /// <remarks>
    /// Safety of retries: every attempt carries the command's request id and the PG applies an id once, answering a
    /// retry with the first outcome (exactly once; gateway/Block/README.md). Only an answer that is not exactly-once
    /// (a replica that installed a snapshot does not know earlier ids) after an attempt that may have applied has its
    /// MISCOMPARE re-checked: the range is read back, and when it holds exactly <paramref name="data"/> (and
    /// <paramref name="data"/> differs from <paramref name="expected"/>) the command is GOOD. A MISCOMPARE from a clean
    /// first attempt is always reported as it is (libiscsi's MultipathIO.CompareAndWrite repeats a successful CAW and
    /// requires MISCOMPARE).
    /// </remarks>
    public async ValueTask<CompareAndWriteResult> CompareAndWriteAsync(long offsetBytes, ReadOnlyMemory<byte> expected, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken)
    {
        Invariant.Assert(expected.Length == data.Length, "compare and write buffers have the same length");
        if (!InRange(offsetBytes, data.Length)) return new(BlockResult.OutOfRange, 0);
        long chunk = offsetBytes / chunkSizeBytes;
        long inChunk = offsetBytes - chunk * chunkSizeBytes;
        if (inChunk + data.Length > chunkSizeBytes)
        {
            // Two chunks are two PGs: no single Raft command can compare and write both.
            return new(BlockResult.NotAtomicRange, 0);
        }

        IoStatus status;
        bool mayHaveApplied;
        try
        {
            (status, mayHaveApplied) = await client.CompareAndWriteCheckedAsync(volumeId, (ulong)chunk, (ulong)inChunk, expected, data, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return new(BlockResult.Cancelled, 0);
        }

        if (status.Code != IoStatusCode.Miscompare)
        {
            return new(ResultOf(status.Code), 0);
        }

        if (mayHaveApplied && !expected.Span.SequenceEqual(data.Span) && await HoldsAsync(offsetBytes, data, cancellationToken).ConfigureAwait(false))
        {
            return new(BlockResult.Ok, 0);
        }

        return new(BlockResult.Miscompare, (long)status.MiscompareOffsetBytes);
    }

    /// <inheritdoc />
    public async ValueTask<ProvisioningStatus> GetProvisioningStatusAsync(long offsetBytes, long lengthBytes, CancellationToken cancellationToken)
    {
        if (!InRange(offsetBytes, lengthBytes) || lengthBytes == 0) return new(BlockResult.OutOfRange, false, 0);
        long chunk = offsetBytes / chunkSizeBytes;
        long inChunk = offsetBytes - chunk * chunkSizeBytes;
        long length = Math.Min(lengthBytes, chunkSizeBytes - inChunk);
        GetLbaStatusResponse response;
        try
        {
            response = await client.GetLbaStatusAsync(volumeId, (ulong)chunk, (ulong)inChunk, (ulong)length, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return new(BlockResult.Cancelled, false, 0);
        }

        BlockResult result = ResultOf(response.Status?.Code ?? IoStatusCode.Invalid);
        if (result != BlockResult.Ok) return new(result, false, 0);
        if (response.Descriptors.Count == 0) return new(BlockResult.HardwareError, false, 0);
        LbaStatusDescriptor first = response.Descriptors[0];
        long run = Math.Clamp((long)first.Range.LengthBytes, BlockSizeBytes, length);
        return new(BlockResult.Ok, first.Status != Proto.V1.ProvisioningStatus.Deallocated, run);
    }

    /// <summary>The size moves with the volume in meta; storage nodes keep no volume size, so nothing else changes.</summary>
    public ValueTask<BlockResult> ResizeAsync(long newSizeBytes, CancellationToken cancellationToken)
    {
        Invariant.Assert(newSizeBytes >= 0 && newSizeBytes % BlockSizeBytes == 0, "size is whole blocks");
        Volatile.Write(ref sizeBytes, newSizeBytes);
        return new(BlockResult.Ok);
    }

    /// <summary>The <see cref="StorageClient"/> is shared by every volume of the gateway and owned by its creator.</summary>
    public void Dispose()
    {
    }

    /// <summary>Maps a storage status that survived the client's retries to a device result.</summary>
    internal static BlockResult ResultOf(IoStatusCode code) => code switch
    {
        IoStatusCode.Ok => BlockResult.Ok,
        IoStatusCode.OutOfRange => BlockResult.OutOfRange,
        IoStatusCode.Miscompare => BlockResult.Miscompare,
        IoStatusCode.MediumError => BlockResult.MediumError,
        // SBC-3 §4.7.3.7: a thin volume that cannot allocate reports SPACE ALLOCATION FAILED WRITE PROTECT.
        IoStatusCode.NoSpace => BlockResult.NoSpace,
        // Still no leader (or a stale route) when the budget ran out: transient, the initiator retries.
        IoStatusCode.Busy or IoStatusCode.NotLeader or IoStatusCode.StaleEpoch or IoStatusCode.PgNotFound => BlockResult.Unavailable,
        // INVALID means this gateway sent a malformed request: a bug here, not a fault of the medium.
        _ => BlockResult.HardwareError,
    };

    private bool InRange(long offsetBytes, long lengthBytes)
    {
        Invariant.Assert(offsetBytes % BlockSizeBytes == 0 && lengthBytes % BlockSizeBytes == 0, "whole blocks (checked by the SCSI layer)");
        return offsetBytes >= 0 && lengthBytes >= 0 && offsetBytes <= SizeBytes - lengthBytes;
    }

    private async ValueTask<bool> HoldsAsync(long offsetBytes, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        byte[] current = ArrayPool<byte>.Shared.Rent(data.Length);
        try
        {
            BlockResult read = await ReadAsync(offsetBytes, current.AsMemory(0, data.Length), cancellationToken).ConfigureAwait(false);
            return read == BlockResult.Ok && current.AsSpan(0, data.Length).SequenceEqual(data.Span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
        }
    }

    /// <summary>
    /// Splits <paramref name="whole"/> at chunk boundaries and runs the pieces. One piece (the common case) is
    /// awaited directly; more run concurrently, at most <see cref="PiecesInFlightMax"/> at a time, and every
    /// started piece is awaited before returning, whatever the others answered.
    /// </summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<BlockResult> RunAsync(Piece whole, CancellationToken cancellationToken)
    {
        if (whole.LengthBytes == 0) return BlockResult.Ok;
        long firstChunk = whole.OffsetBytes / chunkSizeBytes;
        long lastChunk = (whole.OffsetBytes + whole.LengthBytes - 1) / chunkSizeBytes;
        if (firstChunk == lastChunk)
        {
            return await SendPieceAsync(whole, firstChunk, cancellationToken).ConfigureAwait(false);
        }

        int count = (int)(lastChunk - firstChunk + 1);
        Task<BlockResult>[] inFlight = ArrayPool<Task<BlockResult>>.Shared.Rent(Math.Min(count, PiecesInFlightMax));
        BlockResult worst = BlockResult.Ok;
        try
        {
            long chunk = firstChunk;
            while (chunk <= lastChunk)
            {
                int started = 0;
                for (; started < PiecesInFlightMax && chunk <= lastChunk; started++, chunk++)
                {
                    inFlight[started] = SendPieceAsync(Slice(whole, chunk), chunk, cancellationToken).AsTask();
                }

                for (int i = 0; i < started; i++)
                {
                    worst = Worse(worst, await inFlight[i].ConfigureAwait(false));
                    inFlight[i] = null!;
                }

                if (worst != BlockResult.Ok) break;
            }
        }
        finally
        {
            ArrayPool<Task<BlockResult>>.Shared.Return(inFlight, clearArray: true);
        }

        return worst;
    }

    // The part of `whole` inside `chunk`.
    private Piece Slice(in Piece whole, long chunk)
    {
        long start = Math.Max(whole.OffsetBytes, chunk * chunkSizeBytes);
        long end = Math.Min(whole.OffsetBytes + whole.LengthBytes, (chunk + 1) * chunkSizeBytes);
        int skip = (int)(start - whole.OffsetBytes);
        int length = (int)(end - start);
        return whole.Kind switch
        {
            PieceKind.Read => whole with { OffsetBytes = start, LengthBytes = length, Destination = whole.Destination.Slice(skip, length) },
            PieceKind.Write => whole with { OffsetBytes = start, LengthBytes = length, Source = whole.Source.Slice(skip, length) },
            _ => whole with { OffsetBytes = start, LengthBytes = end - start },
        };
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<BlockResult> SendPieceAsync(Piece piece, long chunk, CancellationToken cancellationToken)
    {
        ulong inChunk = (ulong)(piece.OffsetBytes - chunk * chunkSizeBytes);
        Invariant.Assert(inChunk + (ulong)piece.LengthBytes <= (ulong)chunkSizeBytes, "a piece stays inside its chunk");
        try
        {
            IoStatus status = piece.Kind switch
            {
                PieceKind.Read => await client.ReadAsync(volumeId, (ulong)chunk, inChunk, piece.Destination, cancellationToken).ConfigureAwait(false),
                PieceKind.Write => await client.WriteAsync(volumeId, (ulong)chunk, inChunk, piece.Source, piece.Flag, cancellationToken).ConfigureAwait(false),
                PieceKind.WriteSame => await client.WriteSameAsync(volumeId, (ulong)chunk, inChunk, (ulong)piece.LengthBytes, piece.Source, piece.Flag, cancellationToken).ConfigureAwait(false),
                _ => await client.UnmapAsync(volumeId, (ulong)chunk, [(inChunk, (ulong)piece.LengthBytes)], cancellationToken).ConfigureAwait(false),
            };
            return ResultOf(status.Code);
        }
        catch (OperationCanceledException)
        {
            return BlockResult.Cancelled;
        }
    }

    // The result reported for a command whose pieces answered differently: a fault outranks a cancellation,
    // which outranks success, so an aborted multi-piece write is never reported GOOD.
    private static BlockResult Worse(BlockResult a, BlockResult b)
    {
        if (a == BlockResult.Ok) return b;
        if (b == BlockResult.Ok) return a;
        return a == BlockResult.Cancelled ? b : a;
    }

    private enum PieceKind : byte
    {
        Read,
        Write,
        WriteSame,
        Unmap,
    }

    /// <summary>One command, or its part inside one chunk. Flag is FUA for writes, UNMAP for WRITE SAME.</summary>
    private readonly record struct Piece(PieceKind Kind, long OffsetBytes, long LengthBytes, Memory<byte> Destination, ReadOnlyMemory<byte> Source, bool Flag);
}
