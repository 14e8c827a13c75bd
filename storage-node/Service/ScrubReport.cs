namespace Sds.Storage.Service;

/// <summary>What one scrub pass found.</summary>
/// <param name="ChunksScrubbed">Chunks compared across replicas.</param>
/// <param name="LocalBlocksRepaired">Blocks the leader repaired in its own copy.</param>
/// <param name="RemoteBlocksRepaired">Blocks followers repaired from the leader.</param>
/// <param name="MismatchedBlocks">Blocks whose replicas verify but differ (divergence; reported, not fixed).</param>
internal readonly record struct ScrubReport(int ChunksScrubbed, int LocalBlocksRepaired, int RemoteBlocksRepaired, int MismatchedBlocks);
