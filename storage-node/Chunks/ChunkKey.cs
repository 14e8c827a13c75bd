namespace Sds.Storage.Chunks;

/// <summary>
/// Names one chunk: the volume it belongs to and its index within the volume (DESIGN.md §4;
/// chunk <c>index</c> covers volume bytes [index × chunk size, (index + 1) × chunk size)).
/// </summary>
internal readonly record struct ChunkKey(Guid VolumeId, ulong ChunkIndex);
