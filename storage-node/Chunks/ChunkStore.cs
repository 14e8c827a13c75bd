using System.Buffers;

namespace Sds.Storage.Chunks;

/// <summary>
/// What every chunk store shares, so the two implementations differ only in how bytes and
/// checksums reach the medium: request validation, per-chunk serialization (striped locks), the
/// CRC32C computation on write and verification on read, COMPARE AND WRITE, repair, lifetime, and
/// the one place operating-system exceptions become <see cref="ChunkStatus"/> values.
/// </summary>
internal abstract class ChunkStore : IChunkStore
{
    /// <summary>
    /// Chunks hash onto this many locks. Two chunks sharing a stripe only wait for each other; a
    /// power of two keeps the stripe choice a mask.
    /// </summary>
    private const int LockStripeCount = 64;

    private readonly object[] stripes;

    // Readers are operations in flight; Dispose takes the write side so resources are released
    // only when no operation can still touch them.
    private readonly ReaderWriterLockSlim lifetime = new(LockRecursionPolicy.NoRecursion);
    private bool closed;

    /// <summary>Initializes the shared state.</summary>
    protected ChunkStore(ChunkGeometry geometry)
    {
        Invariant.Assert(geometry.BlockSizeBytes > 0, "geometry is initialized");
        Geometry = geometry;
        ZeroBlockChecksum = Crc32C.Compute(new byte[geometry.BlockSizeBytes]);
        stripes = new object[LockStripeCount];
        for (int i = 0; i < stripes.Length; i++)
        {
            stripes[i] = new object();
        }
    }

    /// <inheritdoc />
    public ChunkGeometry Geometry { get; }

    /// <summary>CRC32C of an all-zero block: what a never-written block must verify against.</summary>
    protected uint ZeroBlockChecksum { get; }

    /// <inheritdoc />
    public ChunkReadResult Read(in ChunkKey key, long offsetBytes, Span<byte> destination, Span<int> corruptBlocks)
    {
        if (!Geometry.IsValidRange(offsetBytes, destination.Length))
        {
            return ChunkStatus.InvalidRange;
        }

        if (!Enter())
        {
            return ChunkStatus.Closed;
        }

        try
        {
            lock (Stripe(key))
            {
                return ReadVerified(key, offsetBytes, destination, corruptBlocks);
            }
        }
        catch (Exception exception) when (IsOperatingError(exception))
        {
            return MapOperatingError(exception);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public ChunkStatus Write(in ChunkKey key, long offsetBytes, ReadOnlySpan<byte> source)
    {
        if (!Geometry.IsValidRange(offsetBytes, source.Length))
        {
            return ChunkStatus.InvalidRange;
        }

        int blockCount = source.Length / Geometry.BlockSizeBytes;
        uint[] checksums = ArrayPool<uint>.Shared.Rent(blockCount);
        if (!Enter())
        {
            ArrayPool<uint>.Shared.Return(checksums);
            return ChunkStatus.Closed;
        }

        try
        {
            // Checksums are computed before taking the chunk's lock to keep the critical section short.
            ComputeChecksums(source, checksums.AsSpan(0, blockCount));
            lock (Stripe(key))
            {
                return WriteBlocks(key, offsetBytes, source, checksums.AsSpan(0, blockCount));
            }
        }
        catch (Exception exception) when (IsOperatingError(exception))
        {
            return MapOperatingError(exception);
        }
        finally
        {
            Exit();
            ArrayPool<uint>.Shared.Return(checksums);
        }
    }

    /// <inheritdoc />
    public ChunkStatus WriteSame(in ChunkKey key, long offsetBytes, int lengthBytes, ReadOnlySpan<byte> block)
    {
        if (!Geometry.IsValidRange(offsetBytes, lengthBytes))
        {
            return ChunkStatus.InvalidRange;
        }

        if (block.Length != Geometry.BlockSizeBytes)
        {
            return ChunkStatus.InvalidBuffer;
        }

        if (!Enter())
        {
            return ChunkStatus.Closed;
        }

        try
        {
            uint checksum = Crc32C.Compute(block);
            lock (Stripe(key))
            {
                return WriteSameBlocks(key, offsetBytes, lengthBytes, block, checksum);
            }
        }
        catch (Exception exception) when (IsOperatingError(exception))
        {
            return MapOperatingError(exception);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public ChunkStatus Unmap(in ChunkKey key, long offsetBytes, int lengthBytes)
    {
        if (!Geometry.IsValidRange(offsetBytes, lengthBytes))
        {
            return ChunkStatus.InvalidRange;
        }

        if (!Enter())
        {
            return ChunkStatus.Closed;
        }

        try
        {
            lock (Stripe(key))
            {
                return UnmapBlocks(key, offsetBytes, lengthBytes);
            }
        }
        catch (Exception exception) when (IsOperatingError(exception))
        {
            return MapOperatingError(exception);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public CompareAndWriteResult CompareAndWrite(
        in ChunkKey key, long offsetBytes, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> replacement)
    {
        if (!Geometry.IsValidRange(offsetBytes, expected.Length))
        {
            return ChunkStatus.InvalidRange;
        }

        if (replacement.Length != expected.Length)
        {
            return ChunkStatus.InvalidBuffer;
        }

        int blockCount = replacement.Length / Geometry.BlockSizeBytes;
        uint[] checksums = ArrayPool<uint>.Shared.Rent(blockCount);
        byte[] current = ArrayPool<byte>.Shared.Rent(expected.Length);
        if (!Enter())
        {
            ArrayPool<uint>.Shared.Return(checksums);
            ArrayPool<byte>.Shared.Return(current);
            return ChunkStatus.Closed;
        }

        try
        {
            ComputeChecksums(replacement, checksums.AsSpan(0, blockCount));
            lock (Stripe(key))
            {
                // The chunk's lock covers read, compare and write, so no other writer of this
                // chunk can interleave: that is the atomicity SBC-3 §5.2 asks of COMPARE AND WRITE.
                Span<byte> stored = current.AsSpan(0, expected.Length);
                ChunkReadResult read = ReadVerified(key, offsetBytes, stored, default);
                if (read.Status != ChunkStatus.Ok)
                {
                    return new CompareAndWriteResult(read.Status, read: read);
                }

                int same = expected.CommonPrefixLength(stored);
                if (same < expected.Length)
                {
                    return new CompareAndWriteResult(ChunkStatus.Miscompare, same);
                }

                return WriteBlocks(key, offsetBytes, replacement, checksums.AsSpan(0, blockCount));
            }
        }
        catch (Exception exception) when (IsOperatingError(exception))
        {
            return MapOperatingError(exception);
        }
        finally
        {
            Exit();
            ArrayPool<uint>.Shared.Return(checksums);
            ArrayPool<byte>.Shared.Return(current);
        }
    }

    /// <inheritdoc />
    public ChunkStatus GetMappedExtents(
        in ChunkKey key, long offsetBytes, int lengthBytes, Span<ChunkExtent> extents, out int extentCount)
    {
        extentCount = 0;
        if (!Geometry.IsValidRange(offsetBytes, lengthBytes))
        {
            return ChunkStatus.InvalidRange;
        }

        if (extents.IsEmpty)
        {
            return ChunkStatus.InvalidBuffer;
        }

        if (!Enter())
        {
            return ChunkStatus.Closed;
        }

        try
        {
            lock (Stripe(key))
            {
                ChunkStatus status = MappedExtents(key, offsetBytes, lengthBytes, extents, out extentCount);
                Invariant.Assert(extentCount >= 0 && extentCount <= extents.Length, "extent count fits the caller's span");
                return status;
            }
        }
        catch (Exception exception) when (IsOperatingError(exception))
        {
            return MapOperatingError(exception);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public ChunkStatus Flush()
    {
        if (!Enter())
        {
            return ChunkStatus.Closed;
        }

        try
        {
            return FlushAll();
        }
        catch (Exception exception) when (IsOperatingError(exception))
        {
            return MapOperatingError(exception);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public ChunkStatus DeleteChunk(in ChunkKey key)
    {
        if (!Enter())
        {
            return ChunkStatus.Closed;
        }

        try
        {
            lock (Stripe(key))
            {
                return DeleteChunkBlocks(key);
            }
        }
        catch (Exception exception) when (IsOperatingError(exception))
        {
            return MapOperatingError(exception);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public ChunkStatus ListChunks(Guid? volumeId, List<ChunkKey> chunks)
    {
        if (!Enter())
        {
            return ChunkStatus.Closed;
        }

        try
        {
            return ListChunkKeys(volumeId, chunks);
        }
        catch (Exception exception) when (IsOperatingError(exception))
        {
            return MapOperatingError(exception);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public ChunkReadResult Repair(in ChunkKey key, long offsetBytes, ReadOnlySpan<byte> knownGood)
    {
        if (!Geometry.IsValidRange(offsetBytes, knownGood.Length))
        {
            return ChunkStatus.InvalidRange;
        }

        int blockCount = knownGood.Length / Geometry.BlockSizeBytes;
        uint[] checksums = ArrayPool<uint>.Shared.Rent(blockCount);
        byte[] readBack = ArrayPool<byte>.Shared.Rent(knownGood.Length);
        if (!Enter())
        {
            ArrayPool<uint>.Shared.Return(checksums);
            ArrayPool<byte>.Shared.Return(readBack);
            return ChunkStatus.Closed;
        }

        try
        {
            ComputeChecksums(knownGood, checksums.AsSpan(0, blockCount));
            lock (Stripe(key))
            {
                ChunkStatus written = WriteBlocks(key, offsetBytes, knownGood, checksums.AsSpan(0, blockCount));
                if (written != ChunkStatus.Ok)
                {
                    return written;
                }

                // Read back under the same lock: a repair that the medium did not keep is not a repair.
                Span<byte> stored = readBack.AsSpan(0, knownGood.Length);
                ChunkReadResult read = ReadVerified(key, offsetBytes, stored, default);
                Invariant.Assert(read.Status != ChunkStatus.Ok || stored.SequenceEqual(knownGood), "verified read-back equals what was written");
                return read;
            }
        }
        catch (Exception exception) when (IsOperatingError(exception))
        {
            return MapOperatingError(exception);
        }
        finally
        {
            Exit();
            ArrayPool<uint>.Shared.Return(checksums);
            ArrayPool<byte>.Shared.Return(readBack);
        }
    }

    /// <summary>Waits for operations in flight, then releases the store's resources; later calls return <see cref="ChunkStatus.Closed"/>.</summary>
    public void Dispose()
    {
        lifetime.EnterWriteLock();
        try
        {
            if (closed)
            {
                return;
            }

            closed = true;
            Close();
        }
        finally
        {
            lifetime.ExitWriteLock();
        }
    }

    /// <summary>
    /// Reads the blocks of the range into <paramref name="destination"/> and, for each block, the
    /// checksum it must have into <paramref name="checksums"/> (<see cref="ZeroBlockChecksum"/> for a
    /// block never written). Called with the chunk's lock held.
    /// </summary>
    protected abstract ChunkStatus ReadBlocks(in ChunkKey key, long offsetBytes, Span<byte> destination, Span<uint> checksums);

    /// <summary>
    /// Stores the blocks and their checksums. On <see cref="ChunkStatus.NoSpace"/> the chunk must be
    /// exactly as before the call. Called with the chunk's lock held.
    /// </summary>
    protected abstract ChunkStatus WriteBlocks(in ChunkKey key, long offsetBytes, ReadOnlySpan<byte> source, ReadOnlySpan<uint> checksums);

    /// <summary>Stores one block repeated over the range. Called with the chunk's lock held.</summary>
    protected abstract ChunkStatus WriteSameBlocks(in ChunkKey key, long offsetBytes, int lengthBytes, ReadOnlySpan<byte> block, uint checksum);

    /// <summary>Deallocates the range. Called with the chunk's lock held.</summary>
    protected abstract ChunkStatus UnmapBlocks(in ChunkKey key, long offsetBytes, int lengthBytes);

    /// <summary>Reports mapped extents. Called with the chunk's lock held.</summary>
    protected abstract ChunkStatus MappedExtents(in ChunkKey key, long offsetBytes, int lengthBytes, Span<ChunkExtent> extents, out int extentCount);

    /// <summary>Makes completed writes durable.</summary>
    protected abstract ChunkStatus FlushAll();

    /// <summary>Removes a chunk. Called with the chunk's lock held.</summary>
    protected abstract ChunkStatus DeleteChunkBlocks(in ChunkKey key);

    /// <summary>Lists chunks.</summary>
    protected abstract ChunkStatus ListChunkKeys(Guid? volumeId, List<ChunkKey> chunks);

    /// <summary>Releases files, handles and native resources; no operation is in flight.</summary>
    protected abstract void Close();

    /// <summary>Maps an operating-system exception (already known to be one) to a status.</summary>
    protected virtual ChunkStatus MapOperatingError(Exception exception) => ChunkStatus.IoError;

    /// <summary>
    /// The exceptions the OS edge may raise for an operating error. Anything else is a bug and
    /// keeps propagating.
    /// </summary>
    private static bool IsOperatingError(Exception exception)
        => exception is IOException or UnauthorizedAccessException;

    private ChunkReadResult ReadVerified(in ChunkKey key, long offsetBytes, Span<byte> destination, Span<int> corruptBlocks)
    {
        int blockSize = Geometry.BlockSizeBytes;
        int blockCount = destination.Length / blockSize;
        uint[] checksums = ArrayPool<uint>.Shared.Rent(blockCount);
        try
        {
            ChunkStatus status = ReadBlocks(key, offsetBytes, destination, checksums.AsSpan(0, blockCount));
            if (status != ChunkStatus.Ok)
            {
                return status;
            }

            int firstBlock = (int)(offsetBytes / blockSize);
            int corruptCount = 0;
            int firstCorrupt = -1;
            for (int i = 0; i < blockCount; i++)
            {
                if (Crc32C.Compute(destination.Slice(i * blockSize, blockSize)) == checksums[i])
                {
                    continue;
                }

                if (corruptCount < corruptBlocks.Length)
                {
                    corruptBlocks[corruptCount] = firstBlock + i;
                }

                firstCorrupt = firstCorrupt < 0 ? firstBlock + i : firstCorrupt;
                corruptCount++;
            }

            return corruptCount == 0
                ? ChunkStatus.Ok
                : new ChunkReadResult(ChunkStatus.Corrupt, corruptCount, firstCorrupt);
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(checksums);
        }
    }

    private void ComputeChecksums(ReadOnlySpan<byte> source, Span<uint> checksums)
    {
        int blockSize = Geometry.BlockSizeBytes;
        Invariant.Assert(source.Length == checksums.Length * blockSize, "one checksum per block");
        for (int i = 0; i < checksums.Length; i++)
        {
            checksums[i] = Crc32C.Compute(source.Slice(i * blockSize, blockSize));
        }
    }

    /// <summary>
    /// The lock that serializes operations on <paramref name="key"/>, for work a store does outside
    /// the calls above (a flush syncing one chunk's files must not race with deleting them).
    /// </summary>
    protected object Stripe(in ChunkKey key)
        => stripes[(uint)HashCode.Combine(key.VolumeId, key.ChunkIndex) & (LockStripeCount - 1)];

    private bool Enter()
    {
        lifetime.EnterReadLock();
        if (!closed)
        {
            return true;
        }

        lifetime.ExitReadLock();
        return false;
    }

    private void Exit() => lifetime.ExitReadLock();
}
