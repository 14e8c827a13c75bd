namespace Sds.Raft.Tests.Simulation;

/// <summary>What the checker knows about a committed index: the entry's term and payload hash, and the lowest
/// term in which any member saw it committed (an upper bound of the term it was committed in).</summary>
internal record struct CommittedEntry(ulong Term, ulong Hash, ulong FirstSeenCommittedInTerm);
