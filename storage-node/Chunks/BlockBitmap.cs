namespace Sds.Storage.Chunks;

/// <summary>
/// One bit per block of a chunk (bit <c>b % 8</c> of byte <c>b / 8</c> is block <c>b</c>): the
/// allocation maps both stores keep. Also the persisted layout of the RocksDB store's chunk maps,
/// so the bit order must not change.
/// </summary>
internal static class BlockBitmap
{
    /// <summary>Bytes needed for <paramref name="blockCount"/> bits.</summary>
    public static int BytesFor(int blockCount) => (blockCount + 7) / 8;

    /// <summary>Whether block <paramref name="block"/> is set.</summary>
    public static bool IsSet(ReadOnlySpan<byte> bitmap, int block) => (bitmap[block >> 3] & (1 << (block & 7))) != 0;

    /// <summary>Whether every block in [first, first+count) is set.</summary>
    public static bool AllSet(ReadOnlySpan<byte> bitmap, int firstBlock, int blockCount)
    {
        for (int block = firstBlock; block < firstBlock + blockCount; block++)
        {
            if (!IsSet(bitmap, block))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Sets or clears [first, first+count); returns whether any bit changed.</summary>
    public static bool Assign(Span<byte> bitmap, int firstBlock, int blockCount, bool value)
    {
        bool changed = false;
        for (int block = firstBlock; block < firstBlock + blockCount; block++)
        {
            byte mask = (byte)(1 << (block & 7));
            byte before = bitmap[block >> 3];
            byte after = value ? (byte)(before | mask) : (byte)(before & ~mask);
            changed |= before != after;
            bitmap[block >> 3] = after;
        }

        return changed;
    }

    /// <summary>
    /// Writes the runs of set blocks inside [first, first+count) as byte extents, in order, up to
    /// the span's length; returns how many were written.
    /// </summary>
    public static int ToExtents(ReadOnlySpan<byte> bitmap, int firstBlock, int blockCount, int blockSizeBytes, Span<ChunkExtent> extents)
    {
        int count = 0;
        int block = firstBlock;
        int end = firstBlock + blockCount;
        while (block < end && count < extents.Length)
        {
            while (block < end && !IsSet(bitmap, block))
            {
                block++;
            }

            int runStart = block;
            while (block < end && IsSet(bitmap, block))
            {
                block++;
            }

            if (block > runStart)
            {
                extents[count++] = new ChunkExtent((long)runStart * blockSizeBytes, (long)(block - runStart) * blockSizeBytes);
            }
        }

        return count;
    }
}
