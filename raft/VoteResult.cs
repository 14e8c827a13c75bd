namespace Sds.Raft;

/// <summary>Where an election (or pre-election) stands.</summary>
internal enum VoteResult : byte
{
    /// <summary>Neither a quorum of grants nor of rejections yet.</summary>
    Pending = 0,

    /// <summary>A quorum granted.</summary>
    Won = 1,

    /// <summary>A quorum can no longer grant.</summary>
    Lost = 2,
}
