using Sds.Raft;

namespace Sds.Storage.Replication;

/// <summary>
/// What other threads may know about a PG replica: published by the event loop after every cycle, read
/// without locks (each field is individually current; together they are a recent picture, not a snapshot).
/// </summary>
public sealed class PgView
{
    internal PgView(uint pgId) => PgId = pgId;

    /// <summary>The PG.</summary>
    public uint PgId { get; }

    /// <summary>Role of this replica.</summary>
    public RaftRole Role { get; internal set; }

    /// <summary>Leader member id, 0 if unknown.</summary>
    public ulong Leader { get; internal set; }

    /// <summary>Current term.</summary>
    public ulong Term { get; internal set; }

    /// <summary>Commit index.</summary>
    public ulong Committed { get; internal set; }

    /// <summary>Applied index.</summary>
    public ulong Applied { get; internal set; }

    /// <summary>Placement epoch.</summary>
    public ulong Epoch { get; internal set; }

    /// <summary>Voters as of the applied configuration.</summary>
    public IReadOnlyList<ulong> Voters { get; internal set; } = [];

    /// <summary>Learners as of the applied configuration.</summary>
    public IReadOnlyList<ulong> Learners { get; internal set; } = [];

    /// <summary>First retained log index (compaction progress).</summary>
    public ulong FirstLogIndex { get; internal set; }

    /// <summary>COMPARE AND WRITE request ids this replica answers exactly once (applied within the request window).</summary>
    public int RememberedRequests { get; internal set; }
}
