using Sds.Storage.Replication;

namespace Sds.Storage;

/// <summary>How to run one storage node (DESIGN.md §2 storage-node): identity, data, listener, chunk store kind.</summary>
internal sealed class StorageNodeConfig
{
    /// <summary>Raft member id and node id.</summary>
    public required ulong NodeId { get; init; }

    /// <summary>Data directory: <c>chunks/</c> (the chunk store) and <c>raft/</c> (the shared Raft-log RocksDB).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>gRPC listen endpoint, host:port (port 0 picks one).</summary>
    public string Listen { get; init; } = "127.0.0.1:0";

    /// <summary>Chunk store: "file" or "rocksdb".</summary>
    public string StoreKind { get; init; } = "file";

    /// <summary>Logical block size, bytes.</summary>
    public int BlockSizeBytes { get; init; } = 4096;

    /// <summary>Chunk size, bytes.</summary>
    public int ChunkSizeBytes { get; init; } = Chunks.ChunkGeometry.DefaultChunkSizeBytes;

    /// <summary>Free space kept under the Raft-log RocksDB; commits and new writes are refused (NO_SPACE) below it.</summary>
    public long RaftLogFreeSpaceReserveBytes { get; init; } = RaftLog.RaftLogEngine.FreeSpaceReserveBytesDefault;

    /// <summary>Event-loop timers and bounds.</summary>
    public StorageNodeOptions? Options { get; init; }
}
