namespace Sds.Meta.Host;

/// <summary>A value produced on the Raft host thread, or why there is none.</summary>
/// <typeparam name="T">The value.</typeparam>
/// <param name="Status">Ok or the reason for no value.</param>
/// <param name="Value">Set when <paramref name="Status"/> is Ok.</param>
/// <param name="LeaderHint">Raft id of the leader as this member knows it (0 if none).</param>
internal readonly record struct MetaResult<T>(MetaCallStatus Status, T? Value, ulong LeaderHint);
