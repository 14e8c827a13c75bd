namespace Sds.Raft.Tests.Simulation;

/// <summary>A register's value: the write that set it and that write's log index.</summary>
internal readonly record struct KvValue(ulong WriteId, ulong Index);
