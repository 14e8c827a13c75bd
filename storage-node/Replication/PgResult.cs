using Sds.Proto.V1;

namespace Sds.Storage.Replication;

/// <summary>Outcome of a PG operation, as the Storage service reports it (errors as values, STYLE.md).</summary>
/// <param name="Code">The outcome.</param>
/// <param name="LeaderMember">NOT_LEADER: the leader this replica follows, 0 if unknown.</param>
/// <param name="CurrentEpoch">STALE_EPOCH: the PG's epoch.</param>
/// <param name="MiscompareOffsetBytes">MISCOMPARE: first differing byte of the compared range.</param>
/// <param name="Message">Detail for logs.</param>
/// <param name="ExactlyOnce">COMPARE AND WRITE: the outcome of its request id's one apply (a retry gets the first outcome).</param>
internal readonly record struct PgResult(IoStatusCode Code, ulong LeaderMember = 0, ulong CurrentEpoch = 0, long MiscompareOffsetBytes = 0, string? Message = null, bool ExactlyOnce = false)
{
    public static readonly PgResult Ok = new(IoStatusCode.Ok);

    public bool IsOk => Code == IoStatusCode.Ok;
}
